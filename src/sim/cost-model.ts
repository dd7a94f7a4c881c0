/**
 * The cost model: what a model costs on some hardware, read from a profile file that
 * `shoal profile` measures on this machine or that someone writes by hand for other hardware.
 * The simulator runs batches for as long as this says instead of running them. Pure: parsing
 * and sampling only; reading the file is the caller's business. Schema: docs/simulator.md.
 */
import { z } from 'zod';
import YAML from 'yaml';
import type { Rng } from '../bench/random.js';
import type { BatchingConfig } from '../scheduling/policy.js';
import { LatencyProfile, type ProfilePoint } from '../scheduling/profile.js';
import { NO_LIMITS, type QueueRules } from '../scheduling/rules.js';

export const PROFILE_SCHEMA = 'shoal-profile/1';

const ms = z.number().nonnegative();
/** A measured distribution of times: its median and, optionally, percentiles around it. */
const spreadFields = {
  /** Median, ms. */
  ms,
  p10Ms: ms.optional(),
  p90Ms: ms.optional(),
  p99Ms: ms.optional(),
  maxMs: ms.optional(),
};
const spread = z.strictObject(spreadFields);
const point = z.strictObject({
  batchSize: z.number().int().positive(),
  /** Median compute ms of a batch of this many rows on one instance. */
  ...spreadFields,
  /** Runs the figures come from (documentation only). */
  runs: z.number().int().positive().optional(),
});
const idlePoint = z.strictObject({
  /** How long the instance had been idle before the batch, ms. */
  afterMs: z.number().positive(),
  /** Time of a batch of one row after that idle time (its median, and percentiles). */
  ...spreadFields,
  runs: z.number().int().positive().optional(),
});
const contended = z.strictObject({
  /** How long the instance had been idle before each run, ms (as a server's instance between requests). */
  afterMs: z.number().positive(),
  /** Time of a batch of one row after that idle time while a thread of normal priority kept one core busy (median, percentiles). */
  ...spreadFields,
  runs: z.number().int().positive().optional(),
});
const stalls = z.strictObject({
  /** Stalls per request: the fraction of answers after which the loop stops for a while. */
  perRequest: z.number().min(0).max(1),
  /** How long the loop stops (median and percentiles), ms. */
  ...spreadFields,
});
const clientStalls = z.strictObject({
  /** Stalls per second of the load generator's loop. */
  perSecond: z.number().nonnegative(),
  /** How long each lasts (median and percentiles), ms. */
  ...spreadFields,
});
const tail = z.strictObject({
  /** Fractions of batches that took longer than each time, longest last (the fractions falling). */
  over: z.array(z.strictObject({ ms: z.number().positive(), fraction: z.number().min(0).max(1) })).min(1),
  /** The longest such batch, ms. */
  maxMs: z.number().positive(),
});
const level = z.strictObject({
  timeoutMs: ms.default(0),
  timeoutAction: z.enum(['REJECT', 'DELAY']).default('REJECT'),
  allowTimeoutOverride: z.boolean().default(false),
  maxQueueSize: z.number().int().nonnegative().default(0),
});
const rules = z.strictObject({
  priorityLevels: z.number().int().nonnegative().default(0),
  defaultLevel: z.number().int().positive().default(1),
  defaultRules: level.default(NO_LIMITS),
  levelRules: z.record(z.string().regex(/^\d+$/), level).default({}),
  defaultDeadlineMs: ms.default(0),
  maxQueueSize: z.number().int().nonnegative().default(0),
});
const batching = z.strictObject({
  maxBatchSize: z.number().int().nonnegative(),
  dynamic: z.strictObject({
    preferredBatchSizes: z.array(z.number().int().positive()).default([]),
    maxQueueDelayMs: ms.default(0),
    preserveOrdering: z.boolean().default(false),
  }).optional(),
});
const model = z.strictObject({
  name: z.string().min(1),
  instances: z.number().int().positive().default(1),
  batching: batching.default({ maxBatchSize: 0 }),
  rules: rules.optional(),
  latency: z.array(point).min(1),
  /** Time a load takes (session creation), ms. */
  loadMs: ms.default(0),
  /** Memory the loaded model holds, bytes. */
  footprintBytes: z.number().nonnegative().default(0),
  /** Per-request time outside compute and the loop, ms. */
  overheadMs: ms.default(0),
  /** The model's own loop work per request on arrival (decoding its inputs), ms: added to the node's `requestMs` (default 0). */
  requestMs: ms.optional(),
  /** The model's own loop work per answer (encoding its outputs), ms: added to the node's `answerMs` (default 0). */
  answerMs: ms.optional(),
  /**
   * Batch times after the instance sat idle, by how long: its threads have gone to sleep and
   * must be woken (on a virtual machine its idle cores too). Absent: idle costs nothing extra.
   */
  idle: z.array(idlePoint).optional(),
  /**
   * One row timed while another thread, at normal priority, kept one core busy: the instance's
   * threads (5 nice steps down, one per core, each parallel section waiting for the slowest)
   * lose that core in scheduler slices, not evenly. With `node.cores`, a batch that computes
   * while the node's loop works goes at the speed this measures. Absent: at the cores' even share.
   */
  contended: contended.optional(),
  /**
   * Batches in a running server that take far longer than any the profile timed alone: a
   * worker's threads preempted by the loop, the load generator or a collection. Absent: none.
   */
  tail: tail.optional(),
});
const profileFile = z.strictObject({
  schema: z.literal(PROFILE_SCHEMA),
  /** What the figures describe, in words: the machine, the accelerator, the source of published figures. */
  hardware: z.string().default(''),
  createdAt: z.string().optional(),
  command: z.string().optional(),
  /**
   * The node's event loop, shared by all its models: every request passes it on arrival (HTTP,
   * decode, admission, dispatch) and again on its answer (the worker's message, encode, write),
   * one piece of work at a time, first come first served.
   */
  node: z.strictObject({
    /** Loop time per request on arrival, ms. */
    requestMs: ms.default(0),
    /** Loop time per answered request until its answer has left, ms: a finished batch frees its instance only when the loop gets to it. */
    answerMs: ms.default(0),
    /** Loop time per answered request after its answer has left (bookkeeping, logging, garbage collection), ms: it delays only what comes after. */
    afterMs: ms.default(0),
    /**
     * Times the loop stops outside the work of any one request: a collection, or its thread
     * waiting for a core that other threads hold. Every request the loop answers is followed by
     * one with probability `perRequest`, of a length drawn from the spread; what waits for the
     * loop (arrivals, finished batches, answers) waits through it. Absent: the loop never stops.
     */
    stalls: stalls.optional(),
    /** Time a request spends outside the node, both ways (the client's own work, the kernel): adds latency, occupies nothing. */
    wire: spread.optional(),
    /**
     * Times the load generator's own loop stops (src/sim/client-stalls.ts): an answer that reaches
     * it then is read when it goes on. One client for the whole cluster. Absent: it never stops.
     */
    clientStalls: clientStalls.optional(),
    /** Cores of the node; absent: instances never wait for a core (see src/sim/cpu.ts). */
    cores: z.number().positive().optional(),
    /** Cores' worth of other work on the node, which the loop and instances share the cores with. */
    background: z.number().nonnegative().default(0),
  }).default({ requestMs: 0, answerMs: 0, afterMs: 0, background: 0 }),
  models: z.array(model).min(1),
});

export type ProfileFile = z.infer<typeof profileFile>;
export type ModelCost = z.infer<typeof model>;
export type LatencyPoint = z.infer<typeof point>;
export type IdlePoint = z.infer<typeof idlePoint>;
export type Tail = z.infer<typeof tail>;
export type ContendedPoint = z.infer<typeof contended>;
export type Spread = z.infer<typeof spread>;
export type Stalls = z.infer<typeof stalls>;
export type ClientStalls = z.infer<typeof clientStalls>;
export type NodeCosts = ProfileFile['node'];

/** Parses a profile file (JSON or YAML); errors name the file and the field. */
export function parseProfile(text: string, file: string): ProfileFile {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON or YAML: ${(e as Error).message}`, { cause: e });
  }
  const r = profileFile.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
    throw new Error(`${file}: ${where}: ${issue.message}`);
  }
  const names = new Set<string>();
  for (const m of r.data.models) {
    if (names.has(m.name)) throw new Error(`${file}: models: '${m.name}' is listed twice`);
    names.add(m.name);
    const max = m.batching.maxBatchSize;
    const over = m.latency.find((p) => max > 0 && p.batchSize > max);
    if (over) throw new Error(`${file}: models '${m.name}': latency for batch size ${over.batchSize} exceeds batching.maxBatchSize ${max}`);
    const t = m.tail?.over ?? [];
    if (t.some((p, i) => i > 0 && (p.ms <= t[i - 1]!.ms || p.fraction > t[i - 1]!.fraction)) || t.some((p) => p.ms > m.tail!.maxMs)) {
      throw new Error(`${file}: models '${m.name}': tail.over must go up in ms and down in fraction, up to tail.maxMs`);
    }
  }
  return r.data;
}

export function queueRules(m: ModelCost): QueueRules {
  return m.rules ?? { priorityLevels: 0, defaultLevel: 1, defaultRules: NO_LIMITS, levelRules: {}, defaultDeadlineMs: 0, maxQueueSize: 0 };
}

export function batchingConfig(m: ModelCost): BatchingConfig {
  return m.batching;
}

/** The profile's points as a latency estimator's seed (the policies plan with it). */
export function profilePoints(m: ModelCost): ProfilePoint[] {
  return m.latency.map((p) => ({ rows: p.batchSize, ms: p.ms, samples: p.runs ?? 1 }));
}

/**
 * Service time of a batch: the median for its size (interpolated between measured sizes the
 * way the live LatencyProfile predicts), and with `variation` a draw from the measured spread
 * of the nearest measured size, scaled to that median; plus, when the instance had been idle,
 * what waking it costs (the idle points less the back-to-back time of one row, at the same
 * quantile, interpolated in the idle time from nothing at zero).
 */
export class CostModel {
  private readonly median: LatencyProfile;
  private readonly sorted: LatencyPoint[];
  private readonly idle: IdlePoint[];
  private readonly cache: Float64Array;

  constructor(readonly model: ModelCost, private readonly variation: boolean) {
    this.median = LatencyProfile.from(profilePoints(model));
    this.sorted = [...model.latency].sort((a, b) => a.batchSize - b.batchSize);
    this.idle = [...(model.idle ?? [])].sort((a, b) => a.afterMs - b.afterMs);
    this.cache = new Float64Array(Math.max(1, model.batching.maxBatchSize) + 1).fill(-1);
  }

  medianMs(rows: number): number {
    const c = rows < this.cache.length ? this.cache[rows]! : -1;
    if (c >= 0) return c;
    const v = this.median.estimate(rows) ?? 0;
    if (rows < this.cache.length) this.cache[rows] = v;
    return v;
  }

  /** `idleMs`: how long the instance had been idle before this batch (Infinity: it never ran). */
  serviceMs(rows: number, rng: Rng, idleMs = 0): number {
    const ms = this.bodyMs(rows, rng, idleMs);
    const tail = this.model.tail;
    return tail && this.variation ? Math.max(ms, tailMs(tail, rng())) : ms;
  }

  private bodyMs(rows: number, rng: Rng, idleMs: number): number {
    const m = this.medianMs(rows);
    const wakes = this.idle.length > 0 && idleMs > 0;
    const p = this.nearest(rows);
    const spread = this.variation && (p.p10Ms !== undefined || p.p90Ms !== undefined || p.p99Ms !== undefined);
    if (!spread && !wakes) return m;
    const u = this.variation ? rng() : 0.5;
    const warm = spread ? (quantile(p, u) / p.ms) * m : m;
    return wakes ? warm + this.wakeMs(idleMs, u) : warm;
  }

  /** Extra time of a batch after `idleMs` idle, at quantile u. */
  private wakeMs(idleMs: number, u: number): number {
    const one = this.sorted[0]!;
    const base = this.variation ? quantile(one, u) : one.ms;
    let x0 = 0;
    let y0 = 0;
    for (const p of this.idle) {
      const y = Math.max(0, (this.variation ? quantile(p, u) : p.ms) - base);
      if (idleMs <= p.afterMs) return y0 + ((y - y0) * (idleMs - x0)) / (p.afterMs - x0);
      x0 = p.afterMs;
      y0 = y;
    }
    return y0;
  }

  /**
   * The speed (0 to 1 of its own) at which a batch computes while the node's loop holds a core:
   * the model's time for one row after the contended point's idle time, over a draw from the
   * contended spread. 1 without a contended point.
   */
  contendedSpeed(rng: Rng): number {
    const c = this.model.contended;
    if (!c) return 1;
    const alone = this.medianMs(1) + (this.idle.length > 0 ? this.wakeMs(c.afterMs, 0.5) : 0);
    const slow = this.variation ? quantile(c, rng()) : c.ms;
    return slow > 0 ? Math.min(1, alone / slow) : 1;
  }

  private nearest(rows: number): LatencyPoint {
    let best = this.sorted[0]!;
    for (const p of this.sorted) if (Math.abs(p.batchSize - rows) < Math.abs(best.batchSize - rows)) best = p;
    return best;
  }
}

/** A draw from a tail's upper quantiles: 0 below them, else linear between the times, up to maxMs at 1. */
export function tailMs(t: Tail, u: number): number {
  const first = t.over[0]!;
  if (u <= 1 - first.fraction) return 0;
  let q0 = 1 - first.fraction;
  let x0 = first.ms;
  for (let i = 1; i <= t.over.length; i++) {
    const next = t.over[i];
    const q1 = next ? 1 - next.fraction : 1;
    const x1 = next ? next.ms : t.maxMs;
    if (u <= q1) return q1 > q0 ? x0 + ((x1 - x0) * (u - q0)) / (q1 - q0) : x1;
    q0 = q1;
    x0 = x1;
  }
  return t.maxMs;
}

/** Inverse CDF through the measured percentiles, linear in between; missing ones fall back to their neighbours. */
export function quantile(p: Spread, u: number): number {
  // Knots (0, p10) (0.1, p10) (0.5, ms) (0.9, p90) (0.99, p99) (1, max), without an array: this runs for every draw.
  const p10 = p.p10Ms ?? p.ms;
  if (u <= 0.1) return p10;
  if (u <= 0.5) return p10 + ((p.ms - p10) * (u - 0.1)) / 0.4;
  const p90 = p.p90Ms ?? p.ms;
  if (u <= 0.9) return p.ms + ((p90 - p.ms) * (u - 0.5)) / 0.4;
  const p99 = p.p99Ms ?? p90;
  if (u <= 0.99) return p90 + ((p99 - p90) * (u - 0.9)) / 0.09;
  const max = p.maxMs ?? p99;
  return p99 + ((max - p99) * (Math.min(u, 1) - 0.99)) / 0.01;
}
