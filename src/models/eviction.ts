// src/models/eviction.ts — pure: plain data in, decision out; no clock reads.
// The model manager and the simulator both ask these policies which models to evict.

export interface ResidentModel {
  /** Model name (one resident unit is one model with all its loaded versions). */
  name: string;
  /** Measured footprint, bytes. */
  footprintBytes: number;
  /** Clock time (ms) of the last request that used it. */
  lastUsedAt: number;
  /** Measured time (ms) its last load took; what evicting it costs if it is needed again. */
  loadMs: number;
  /** Recent request rate (requests per second), as a decaying average the caller keeps (see RateMeter). */
  recentRate: number;
  /** Queued or running requests (or a load in progress): never evicted. */
  busy: boolean;
  /** Pinned by config: never evicted. */
  pinned: boolean;
}

export type EvictionPolicyName = 'lru' | 'cost-aware';

export interface EvictionPolicy {
  readonly name: EvictionPolicyName;
  /** Names to evict, in order, so that `needBytes` more fit under `budgetBytes`; undefined when even evicting every evictable model would not make room. An empty array: it already fits. */
  chooseVictims(resident: readonly ResidentModel[], needBytes: number, budgetBytes: number, now: number): string[] | undefined;
  /**
   * Whether loading `newcomer` is worth evicting `victims` (as chooseVictims picked them), asked
   * only while the load lane is congested, when every load delays the others; absent: always.
   */
  worthLoading?(victims: readonly ResidentModel[], newcomer: Newcomer): boolean;
}

/** A model that is not resident, as a load would bring it in. */
export interface Newcomer {
  /** Recent request rate, counted as requests arrive, loaded or not (see RateMeter). */
  recentRate: number;
  /** What its load is expected to take (ms). */
  loadMs: number;
}

export const EVICTION_POLICIES: readonly EvictionPolicyName[] = ['lru', 'cost-aware'];

export function evictionPolicy(name: EvictionPolicyName): EvictionPolicy {
  switch (name) {
    case 'lru':
      return lru;
    case 'cost-aware':
      return costAware;
  }
}

/** Least recently used first. */
const lru: EvictionPolicy = {
  name: 'lru',
  chooseVictims: (resident, needBytes, budgetBytes) => pick(resident, needBytes, budgetBytes, (a, b) => a.lastUsedAt - b.lastUsedAt || a.name.localeCompare(b.name)),
};

/**
 * What keeping a model resident is worth per byte it occupies: the reload time it saves per
 * second, `recentRate × loadMs`, divided by its size. This is GreedyDual-Size-Frequency's value
 * (frequency × cost / size) with the decaying rate standing in for GDSF's frequency count and
 * inflation clock: the decay already ages out models that were popular long ago, which is what
 * GDSF's inflation value does. Evicting the lowest values first frees the bytes whose loss costs
 * the fewest reload-milliseconds per second. A model nobody asked for lately has a value near 0 whatever
 * its reload cost, so ties (all idle) fall back to LRU order, largest first (freeing more at once
 * means fewer victims).
 */
export function residencyValue(m: ResidentModel): number {
  return (m.recentRate * Math.max(m.loadMs, 1)) / Math.max(m.footprintBytes, 1);
}

/** How many times what it evicts a load must be worth while loads queue (see costAware's worthLoading). */
export const ADMISSION_MARGIN = 2;

/**
 * Reload-milliseconds per second that keeping `m` resident saves, whatever its size: what a
 * load of it is worth, or what evicting it costs, once the room it takes or frees is settled.
 */
const reloadCost = (m: { recentRate: number; loadMs: number }): number => m.recentRate * Math.max(m.loadMs, 1);

const costAware: EvictionPolicy = {
  name: 'cost-aware',
  chooseVictims: (resident, needBytes, budgetBytes) =>
    pick(resident, needBytes, budgetBytes, (a, b) => residencyValue(a) - residencyValue(b) || a.lastUsedAt - b.lastUsedAt || b.footprintBytes - a.footprintBytes || a.name.localeCompare(b.name)),
  /**
   * A load whose model is asked for less (rate × reload cost) than the models it would evict
   * together is declined while the lane is congested (Residency.congested): under overload every miss asks for a load,
   * the lane cannot do them all, and evicting a popular model for a rare one only turns the
   * popular one's next requests into misses as well (the many-models bench thrashed this way,
   * its loads taking the cores the hits needed). What GreedyDual-Size-Frequency leaves out and
   * cache admission (TinyLFU's) adds; demand is counted on arrival, so a declined model's rate
   * keeps growing until it earns its room. It must be worth ADMISSION_MARGIN times as much: load
   * times measured on busy cores vary severalfold for one file, and models of like value would
   * otherwise keep trading places on that noise, each trade a load.
   */
  worthLoading: (victims, newcomer) => reloadCost(newcomer) >= ADMISSION_MARGIN * victims.reduce((n, v) => n + reloadCost(v), 0),
};

/**
 * Takes evictable models in `order` until the newcomer fits, then gives back any victim the
 * others already make room without (a large late victim can make earlier small ones needless),
 * most valuable first, so no model is evicted for nothing.
 */
function pick(resident: readonly ResidentModel[], needBytes: number, budgetBytes: number, order: (a: ResidentModel, b: ResidentModel) => number): string[] | undefined {
  const used = resident.reduce((n, m) => n + m.footprintBytes, 0);
  let excess = used + needBytes - budgetBytes;
  if (excess <= 0) return [];
  const candidates = resident.filter((m) => !m.busy && !m.pinned).sort(order);
  const victims: ResidentModel[] = [];
  for (const m of candidates) {
    if (excess <= 0) break;
    victims.push(m);
    excess -= m.footprintBytes;
  }
  if (excess > 0) return undefined;
  for (let i = victims.length - 1; i >= 0; i--) {
    const v = victims[i]!;
    if (excess + v.footprintBytes <= 0) {
      excess += v.footprintBytes;
      victims.splice(i, 1);
    }
  }
  return victims.map((m) => m.name);
}

/**
 * Exponentially decaying request-rate estimate, clock passed in on every call. Each request adds
 * a weight that halves every `halfLifeMs`; for a steady rate r the sum settles at r / λ (λ the
 * decay constant), so rate = sum × λ. Times must not go backwards. An event may weigh more than
 * one (`record`'s weight): then it is the rate of that quantity, such as ms of loading per second.
 */
export class RateMeter {
  private readonly lambdaPerMs: number;
  private sum = 0;
  private at = Number.NEGATIVE_INFINITY;

  constructor(halfLifeMs: number) {
    if (!(halfLifeMs > 0)) throw new RangeError(`RateMeter half-life must be positive, got ${halfLifeMs}`);
    this.lambdaPerMs = Math.LN2 / halfLifeMs;
  }

  record(now: number, weight = 1): void {
    this.sum = this.decayed(now) + weight;
    this.at = now;
  }

  /** Requests per second. */
  rate(now: number): number {
    return this.decayed(now) * this.lambdaPerMs * 1000;
  }

  private decayed(now: number): number {
    if (this.sum === 0) return 0;
    return this.sum * Math.exp(-this.lambdaPerMs * Math.max(0, now - this.at));
  }
}
