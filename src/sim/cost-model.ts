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
const point = z.strictObject({
  batchSize: z.number().int().positive(),
  /** Median compute ms of a batch of this many rows on one instance. */
  ms,
  p10Ms: ms.optional(),
  p90Ms: ms.optional(),
  p99Ms: ms.optional(),
  maxMs: ms.optional(),
  /** Runs the figures come from (documentation only). */
  runs: z.number().int().positive().optional(),
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
  /** Per-request time outside compute on the serving node (decode, validate, encode), ms. */
  overheadMs: ms.default(0),
});
const profileFile = z.strictObject({
  schema: z.literal(PROFILE_SCHEMA),
  /** What the figures describe, in words: the machine, the accelerator, the source of published figures. */
  hardware: z.string().default(''),
  createdAt: z.string().optional(),
  command: z.string().optional(),
  /** The node's request path (HTTP, decode, validate, encode on one event loop), shared by all its models. */
  node: z.strictObject({
    /** Time the request path is busy per request, ms: requests pass it one at a time, before their model's queue. */
    requestMs: ms.default(0),
  }).default({ requestMs: 0 }),
  models: z.array(model).min(1),
});

export type ProfileFile = z.infer<typeof profileFile>;
export type ModelCost = z.infer<typeof model>;
export type LatencyPoint = z.infer<typeof point>;

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
 * of the nearest measured size, scaled to that median.
 */
export class CostModel {
  private readonly median: LatencyProfile;
  private readonly sorted: LatencyPoint[];
  private readonly cache: Float64Array;

  constructor(readonly model: ModelCost, private readonly variation: boolean) {
    this.median = LatencyProfile.from(profilePoints(model));
    this.sorted = [...model.latency].sort((a, b) => a.batchSize - b.batchSize);
    this.cache = new Float64Array(Math.max(1, model.batching.maxBatchSize) + 1).fill(-1);
  }

  medianMs(rows: number): number {
    const c = rows < this.cache.length ? this.cache[rows]! : -1;
    if (c >= 0) return c;
    const v = this.median.estimate(rows) ?? 0;
    if (rows < this.cache.length) this.cache[rows] = v;
    return v;
  }

  serviceMs(rows: number, rng: Rng): number {
    const m = this.medianMs(rows);
    if (!this.variation) return m;
    const p = this.nearest(rows);
    if (p.p10Ms === undefined && p.p90Ms === undefined && p.p99Ms === undefined) return m;
    return (quantile(p, rng()) / p.ms) * m;
  }

  private nearest(rows: number): LatencyPoint {
    let best = this.sorted[0]!;
    for (const p of this.sorted) if (Math.abs(p.batchSize - rows) < Math.abs(best.batchSize - rows)) best = p;
    return best;
  }
}

/** Inverse CDF through the measured percentiles, linear in between; missing ones fall back to their neighbours. */
export function quantile(p: LatencyPoint, u: number): number {
  const p10 = p.p10Ms ?? p.ms;
  const p90 = p.p90Ms ?? p.ms;
  const p99 = p.p99Ms ?? p90;
  const max = p.maxMs ?? p99;
  const knots: Array<[number, number]> = [[0, p10], [0.1, p10], [0.5, p.ms], [0.9, p90], [0.99, p99], [1, max]];
  for (let i = 1; i < knots.length; i++) {
    const [q1, v1] = knots[i]!;
    if (u <= q1) {
      const [q0, v0] = knots[i - 1]!;
      return v0 + ((v1 - v0) * (u - q0)) / (q1 - q0);
    }
  }
  return max;
}
