import { readFile, stat } from 'node:fs/promises';
import { ShoalError, unavailable } from '../core/errors.js';
import type { ModelState } from '../core/service.js';
import { defaultPartialConfig } from '../repository/config.js';
import type { RepositoryModel } from '../repository/repository.js';
import { type EvictionPolicy, RateMeter, type ResidentModel, evictionPolicy } from './eviction.js';
import { LoadHistory, measureFootprint, shareFootprint } from './footprint.js';
import { HostCache } from './host-cache.js';
import { IdleSignal } from './idle-wait.js';
import type { LoadOrder } from './load-order.js';
import type { LoadCause, ModelManagerOptions } from './manager-options.js';
import { type ModelEntry, isPinned } from './model-entry.js';
import { type ModelVersion, loadVersion, releaseVersions } from './version-loader.js';
import { runWarmup, warmupSamples } from './warmup.js';

/**
 * The models in memory, under the budget when there is one: loads a model into room made for
 * it by evicting idle ones (the pure policy in eviction.ts chooses which), measures what it
 * took, swaps versions in and out, counts the bytes of versions still being released, and fills
 * the host cache with the files of models evicted or unloaded. The model manager decides when;
 * this carries it out in the manager's load lane (load-order.ts): a model's first load runs
 * alone and is measured, a reload of files already measured takes that figure and may overlap
 * other reloads. Room is reserved for each load under way, so overlapping loads never count the
 * same free bytes twice.
 */
export class Residency {
  readonly budget: number | undefined;
  readonly hostCache: HostCache | undefined;
  private readonly policy: EvictionPolicy;
  private readonly probe: () => number;
  /** Bytes of versions taken out of service whose sessions are not released yet. */
  private releasingBytes = 0;
  private readonly releases = new Set<Promise<void>>();
  private readonly cacheFills = new Set<Promise<void>>();
  private readonly history = new LoadHistory();
  /** Bytes reserved for each load under way, from making its room until its versions are resident. */
  private readonly reserved = new Map<string, number>();
  /** Loads under way, by model: settled when each ends, however it ends. */
  private readonly loading = new Map<string, Promise<void>>();
  private readonly idle = new IdleSignal();
  /** Ms spent loading per second, decaying: how busy the lane has been of late. */
  private readonly laneMeter = new RateMeter(LANE_HALF_LIFE_MS);

  constructor(
    private readonly models: ReadonlyMap<string, ModelEntry>,
    private readonly order: LoadOrder,
    private readonly opts: ModelManagerOptions,
  ) {
    this.budget = opts.memoryBudgetBytes;
    this.policy = evictionPolicy(opts.evictionPolicy ?? 'lru');
    this.hostCache = opts.hostCacheBytes ? new HostCache(opts.hostCacheBytes) : undefined;
    this.probe = opts.memoryProbe ?? (() => process.memoryUsage.rss());
  }

  /** How long a load of the model should take: the median of its last loads' times, or the mean over all loads. */
  expectedLoadMs(entry: ModelEntry): number {
    return median(entry.loadTimes) || this.history.meanLoadMs;
  }

  /**
   * The footprint measured when these very files last loaded (same paths, sizes and modification
   * times), if any: a load of them need not be measured again, so it may overlap other loads.
   */
  async knownFootprint(m: RepositoryModel, entry: ModelEntry): Promise<number | undefined> {
    if (entry.measuredBytes <= 0 || entry.measuredFiles === undefined) return undefined;
    return (await filesKey(m)) === entry.measuredFiles ? entry.measuredBytes : undefined;
  }

  /**
   * In the lane: make room, load every version, warm up, and measure, or take `known` (from
   * knownFootprint) as the footprint when the load shares the lane with others, whose memory
   * would be in any figure taken now. Returns the release of the versions it replaced (boxed, or
   * awaiting this would wait for it). `patient`: rather than fail for want of room while every
   * model that could make it is busy, throw RoomDeferred, so that the caller waits for a model
   * to go idle (nextIdle) outside the lane, where it holds up no other load, and tries again.
   * Under overload every model has requests now and then, but not for long: failing at once
   * answered thousands of requests 503 in the many-models bench.
   */
  async load(m: RepositoryModel, entry: ModelEntry, cause: LoadCause, evict: boolean, known?: number, patient = false): Promise<{ released: Promise<void> }> {
    let done!: () => void;
    this.loading.set(entry.name, new Promise<void>((resolve) => (done = resolve)));
    try {
      return await this.loadNow(m, entry, cause, evict, known, patient);
    } finally {
      this.reserved.delete(entry.name);
      this.loading.delete(entry.name);
      done();
    }
  }

  private async loadNow(m: RepositoryModel, entry: ModelEntry, cause: LoadCause, evict: boolean, known: number | undefined, patient: boolean): Promise<{ released: Promise<void> }> {
    const sessionsPer = Math.max(1, (m.config ?? defaultPartialConfig(m.name)).instance_group.reduce((n, g) => n + g.count, 0));
    const key = known === undefined ? await filesKey(m) : entry.measuredFiles;
    const cached = new Map<string, Uint8Array>();
    for (const v of m.versions) {
      const bytes = this.hostCache?.take(v.modelFile);
      if (bytes) cached.set(v.modelFile, bytes);
    }
    const fromHostCache = cached.size === m.versions.length;
    const loaded: ModelVersion[] = [];
    try {
      const fileBytes = await filesSize(m, cached);
      if (this.budget !== undefined) {
        const estimate = known ?? (entry.measuredBytes || (fileBytes + this.history.overheadPerSession * m.versions.length) * sessionsPer);
        await this.makeRoom(entry, estimate, evict, false, patient);
      }
      const started = this.opts.clock.now();
      const rssBefore = this.probe();
      for (const v of m.versions) loaded.push(await loadVersion(m, v.version, v.modelFile, cached.get(v.modelFile), this.opts));
      for (const v of loaded) await runWarmup(v.sessions, v.config, warmupSamples(v.config));
      let footprint: number;
      if (known !== undefined) {
        footprint = shareFootprint(loaded, known);
      } else {
        const floor = fileBytes * sessionsPer + this.history.overheadPerSession * m.versions.length * sessionsPer;
        const measured = measureFootprint(loaded, this.probe() - rssBefore);
        footprint = shareFootprint(loaded, Math.max(measured, floor));
        this.history.recordFootprint(measured, fileBytes * sessionsPer, m.versions.length * sessionsPer);
        entry.measuredBytes = footprint;
        entry.measuredFiles = key;
        if (this.budget !== undefined) {
          if (footprint > this.budget) throw unavailable(`model '${m.name}' needs ${mib(footprint)} when loaded, more than the whole memory budget (${mib(this.budget)})`);
          // The estimate may have been short: make the rest of the room now, or stay over by this one model.
          await this.makeRoom(entry, footprint, evict, true);
        }
      }
      const ms = this.opts.clock.now() - started;
      this.laneMeter.record(this.opts.clock.now(), ms);
      entry.loadTimes = [...entry.loadTimes.slice(1 - LOAD_TIMES_KEPT), ms];
      this.history.recordLoad(ms);
      loaded.sort((a, b) => Number(b.version) - Number(a.version));
      entry.failure = undefined;
      entry.lastConfig = loaded[0]!.config;
      entry.lastUsedAt = this.opts.clock.now();
      this.opts.events?.loaded?.({ model: m.name, cause, ms, footprintBytes: footprint, fromHostCache });
      // Unreserved and swapped in in the same turn: its bytes count once, always.
      this.reserved.delete(entry.name);
      return { released: this.swap(entry, loaded, 'READY', '') };
    } catch (e) {
      await this.releaseTracked(loaded);
      // The bytes were taken from the cache for this load; a failed or deferred load gives them back.
      for (const [file, bytes] of cached) this.hostCache?.put(file, bytes);
      throw e;
    }
  }

  /**
   * Whether the lane has lately spent at least CONGESTED_LANE of its time loading: then each load
   * delays the next and takes cores from the requests, and the policy may decline loads not worth
   * what they evict (worthLoading). A decaying figure rather than whether loads queue this
   * instant: under overload the lane empties now and then for a moment, and every load let through
   * then, worth it or not, evicted a model that was soon missed; at a low rate, loads seldom
   * overlap, but now and then one waits for another, and declining a load then refused requests
   * that a load would have answered in time.
   */
  congested(): boolean {
    return this.laneMeter.rate(this.opts.clock.now()) / 1000 >= CONGESTED_LANE;
  }

  /**
   * Whether a load of the model, were it to make its room now, is worth the models it would
   * evict (the policy's `worthLoading`; always without a budget, or when room is free, or when
   * it cannot be made at all, which the load itself then reports). The room is a guess before
   * the first load: a session's mean overhead, without the file, which is not read here.
   */
  worthLoading(entry: ModelEntry): boolean {
    if (this.budget === undefined || !this.policy.worthLoading) return true;
    const now = this.opts.clock.now();
    const resident = this.residentModels(now);
    let reserved = 0;
    for (const [name, bytes] of this.reserved) if (name !== entry.name) reserved += bytes;
    const need = (entry.measuredBytes || this.history.overheadPerSession) + this.releasingBytes + reserved;
    const victims = this.policy.chooseVictims(resident, need, this.budget, now);
    if (victims === undefined || victims.length === 0) return true;
    const chosen = new Set(victims);
    return this.policy.worthLoading(resident.filter((r) => chosen.has(r.name)), { recentRate: entry.rate.rate(now), loadMs: entry.loadTimes.length > 0 ? reloadMs(entry) : this.history.meanLoadMs });
  }

  /**
   * Evicts idle models until `needBytes` more fit under the budget, beside the room reserved by
   * other loads under way, and then reserves it for this one; the model being loaded is never a
   * candidate (its new versions are not resident yet, its old ones may still serve). Waits for
   * releases, and for other loads, when only they stand in the way. `after`: called once the
   * model is loaded and measured, when being over by this one model is allowed. `patient`: see
   * load; it defers when every model that could make room is busy.
   */
  private async makeRoom(entry: ModelEntry, needBytes: number, evict: boolean, after = false, patient = false): Promise<void> {
    const budget = this.budget!;
    for (;;) {
      const now = this.opts.clock.now();
      const resident = this.residentModels(now).map((r) => (r.name === entry.name ? { ...r, busy: true } : r));
      let others = 0;
      for (const [name, bytes] of this.reserved) if (name !== entry.name) others += bytes;
      const victims = this.policy.chooseVictims(resident, needBytes + this.releasingBytes + others, budget, now);
      if (victims === undefined) {
        // Only loads past their own room-making: two loads waiting for each other would wait for ever.
        const otherLoads = [...this.reserved.keys()].filter((name) => name !== entry.name).map((name) => this.loading.get(name)!);
        if (this.releases.size > 0 || otherLoads.length > 0) {
          await Promise.race([...this.releases, ...otherLoads]);
          continue;
        }
        if (after) return; // over by this one model until a later load makes room
        if (patient && evict) throw new RoomDeferred();
        const held = resident.filter((r) => r.busy || r.pinned).reduce((n, r) => n + r.footprintBytes, 0);
        throw new ShoalError('unavailable', `not enough memory for model '${entry.name}': it needs about ${mib(needBytes)}, and ${mib(held)} of the ${mib(budget)} budget is held by models that are busy or pinned`, 1, 'memory_full');
      }
      if (victims.length > 0 && !evict) {
        if (after) return;
        throw unavailable(`model '${entry.name}' does not fit in the memory budget (${mib(budget)}) beside the models loaded before it`);
      }
      // Reserved in the same turn as the decision, so a load deciding next counts this one.
      if (!after) this.reserved.set(entry.name, needBytes);
      if (victims.length > 0) await this.evict(victims, entry.name);
      return;
    }
  }

  /** Resolves when a model may have gone idle: when a deferred load should try again. */
  nextIdle(): Promise<void> {
    return this.idle.next();
  }

  /** A model may have gone idle (its last lease was given back): loads waiting for room look again. */
  noteIdle(): void {
    this.idle.notify();
  }

  private async evict(names: readonly string[], forModel: string): Promise<void> {
    const released: Promise<void>[] = [];
    for (const name of names) {
      const victim = this.models.get(name);
      // The policy saw a snapshot taken in this same turn; checked again all the same.
      if (!victim || victim.state !== 'READY' || this.isBusy(victim)) continue;
      const old = victim.versions;
      const bytes = old.reduce((n, v) => n + v.footprintBytes, 0);
      released.push(this.swap(victim, [], 'UNAVAILABLE', `not loaded (evicted to make room for '${forModel}')`));
      this.cacheFiles(old);
      this.opts.events?.evicted?.({ model: name, footprintBytes: bytes, forModel });
    }
    await Promise.all(released);
  }

  /** Swap in new versions (synchronously); the old ones finish what they hold, then go: the promise says when. */
  swap(entry: ModelEntry, versions: ModelVersion[], state: ModelState, reason: string): Promise<void> {
    const old = entry.versions.filter((v) => !versions.includes(v));
    entry.versions = versions;
    entry.state = state;
    entry.reason = reason;
    this.opts.onStateChange?.(entry.name, state);
    return this.releaseTracked(old);
  }

  /** Releases versions, counting their bytes as held until they are gone. */
  releaseTracked(versions: readonly ModelVersion[]): Promise<void> {
    if (versions.length === 0) return Promise.resolve();
    const bytes = versions.reduce((n, v) => n + v.footprintBytes, 0);
    this.releasingBytes += bytes;
    const done = releaseVersions(versions).finally(() => {
      this.releasingBytes -= bytes;
      this.releases.delete(done);
    });
    this.releases.add(done);
    return done;
  }

  /** Reads an evicted or unloaded model's files into the host cache, off the load lane. */
  cacheFiles(versions: readonly ModelVersion[]): void {
    const cache = this.hostCache;
    if (!cache) return;
    for (const v of versions) {
      const fill: Promise<void> = readFile(v.modelFile).then(
        (b) => void cache.put(v.modelFile, new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
        () => undefined,
      ).finally(() => this.cacheFills.delete(fill));
      this.cacheFills.add(fill);
    }
  }

  /** Resolves once the host cache has taken the files of every model evicted so far. */
  async settled(): Promise<void> {
    while (this.cacheFills.size > 0) await Promise.all(this.cacheFills);
  }

  /** Busy: leased, queued or running, loading or unloading, or waited for. Never evicted. */
  isBusy(e: ModelEntry): boolean {
    if (e.waiters > 0 || this.order.busy(e.name)) return true;
    return e.versions.some((v) => v.leases.count > 0 || v.scheduler.inFlight > 0);
  }

  /** The resident models as the eviction policy sees them. */
  residentModels(now = this.opts.clock.now()): ResidentModel[] {
    const out: ResidentModel[] = [];
    for (const e of this.models.values()) {
      if (e.versions.length === 0) continue;
      out.push({
        name: e.name,
        footprintBytes: e.versions.reduce((n, v) => n + v.footprintBytes, 0),
        lastUsedAt: e.lastUsedAt,
        loadMs: reloadMs(e),
        recentRate: e.rate.rate(now),
        busy: this.isBusy(e),
        pinned: e.source ? isPinned(e.source) : false,
      });
    }
    return out;
  }

  /** Memory as the budget counts it. */
  memory(): { budgetBytes: number | undefined; residentBytes: number; releasingBytes: number; models: number; hostCacheBytes: number } {
    let resident = 0;
    let models = 0;
    for (const e of this.models.values()) {
      if (e.versions.length === 0) continue;
      models++;
      for (const v of e.versions) resident += v.footprintBytes;
    }
    return { budgetBytes: this.budget, residentBytes: resident, releasingBytes: this.releasingBytes, models, hostCacheBytes: this.hostCache?.bytes ?? 0 };
  }
}

/** What the footprint was measured for: each version's file path, size and modification time. */
async function filesKey(m: RepositoryModel): Promise<string> {
  const parts = await Promise.all(m.versions.map(async (v) => {
    const s = await stat(v.modelFile).catch(() => undefined);
    return `${v.modelFile}\0${s ? `${s.size}\0${s.mtimeMs}` : 'missing'}`;
  }));
  return parts.join('\n');
}

async function filesSize(m: RepositoryModel, cached: ReadonlyMap<string, Uint8Array>): Promise<number> {
  const sizes = await Promise.all(m.versions.map(async (v) => cached.get(v.modelFile)?.byteLength ?? (await stat(v.modelFile).catch(() => undefined))?.size ?? 0));
  return sizes.reduce((a, b) => a + b, 0);
}

/** Half-life of the lane's busy figure (congested): a few seconds of loads, not one. */
const LANE_HALF_LIFE_MS = 5_000;
/** Seconds of loading per second (summed over loads side by side) from which the lane counts as congested. */
const CONGESTED_LANE = 0.5;

/** Loads whose times make a model's reload cost. */
const LOAD_TIMES_KEPT = 5;

/** A load that chose to wait for a better moment to make its room (see Residency.load's `patient`). */
export class RoomDeferred extends Error {
  constructor() {
    super('waiting for room');
  }
}

/**
 * What the policy weighs as a model's reload time: the quickest of its last loads, its own cost
 * with the least of the machine's other work in it. Measured under the many-models bench's
 * overload, one 64 KiB model's loads took 50 ms to 4 s as the cores were taken by other loads
 * and requests; with the median, values swung severalfold on that noise, models of like
 * popularity kept trading places, and each trade was a load. 0 when never loaded.
 */
function reloadMs(e: ModelEntry): number {
  return e.loadTimes.length === 0 ? 0 : Math.min(...e.loadTimes);
}

/** 0 when there are none. */
function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
