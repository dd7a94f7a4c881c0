/**
 * A node's costs from measurements of a real server: what `shoal profile` cannot see, because
 * it belongs to the server around the models and to the machine. Pure: the measuring (runs of
 * `shoal bench`, the server's /metrics, the kernel's per-thread CPU accounting) is the caller's,
 * bench/sim-fidelity.ts here. The runs are calibration runs, never the run being predicted:
 *
 * - one client back to back (`c1`): nothing queues, so a request's round trip is the sum of its
 *   parts; the server says how long each waited before dispatch and how long its batch took as
 *   the loop saw it, and the client's own thread its work per request;
 * - a saturating closed loop: the capacity the predicted rate is a fraction of;
 * - an open loop at half the predicted rate: the loop's CPU per request under arrivals like the
 *   predicted ones but fewer. It is not a constant of the server: the fewer requests come, the
 *   more of them wake an idle loop, so the loop's CPU per request falls as the rate rises. The
 *   caller takes it at the predicted rate from this run and the saturating one (loopMsAt);
 * - a light open loop: how late the load generator's timers send;
 * - in the one-client run, the loop's stalls (src/sim/loop-probe.ts): gaps in which its thread
 *   waited for a core or collected garbage, beyond the work of the request it served.
 *
 * Means, unless said otherwise; all times in ms.
 */
import type { Rng } from '../bench/random.js';
import { type ClientStalls, type ModelCost, type NodeCosts, type Spread, type Stalls, type Tail, quantile } from './cost-model.js';

export interface NodeMeasurements {
  /** Round trips of the one-client run, as (quantile in [0, 1], ms) points, ascending. */
  roundTrip: Array<{ q: number; ms: number }>;
  roundTripMeanMs: number;
  /** Per model of the one-client run, equally weighted: arrival to dispatch (the loop's arrival pass, nothing queued). */
  arrivalPassMs: number;
  /** Per model of the one-client run, equally weighted: dispatch to the loop seeing the batch done. */
  batchMs: number;
  /** The models' own loop work from the profile (decoding, encoding), equally weighted: the node's part is the rest. */
  ownRequestMs?: number;
  ownAnswerMs?: number;
  /** The client's thread per request in the one-client run (running or ready to run). */
  clientMs: number;
  /** The server's loop thread's CPU per request at the predicted rate (loopMsAt). */
  loopMs: number;
  /** How late the open-loop generator sent in the light run (ms; it reports p50, p99 and max only). */
  lateness?: { p50: number; p99: number; max: number };
  /**
   * The loop's stalls as the probe saw them (src/sim/loop-probe.ts) in the one-client run, with
   * the requests it answered meanwhile. Absent: the loop never stops.
   */
  loopStalls?: StallRun;
  /**
   * The load generator's own loop stalls (gaps in a timer's ticks beyond its period, ms) over a
   * span, in the open loop at half the predicted rate. Absent: it is taken never to stop.
   */
  clientStalls?: { spanMs: number; stallsMs: number[] };
  /** Cores of the machine, and what else kept them busy in the calibration runs (cores). */
  cores?: number;
  backgroundCores?: number;
}

/**
 * The loop's three parts come out of the one-client round trip and the loop's CPU per request:
 * the arrival pass as the server timed it; the answer pass as what is left of the round trip once
 * the client, the arrival pass and the batch are taken off, but no more of it than the loop's CPU
 * per request leaves after the arrival pass; and the work after the answer as whatever of that CPU
 * is left after both. What the answer pass cannot be of the round trip's remainder is time the
 * loop does not spend (the worker's reply crossing threads, the kernel's loopback), which delays
 * that one request and no other: the wire carries it. The node's share of each pass is what the
 * models' own work leaves. The wire keeps the one-client round trip's spread, shifted so that its
 * mean is the client's own work and that delay, plus the generator's lateness; with the loop's
 * stalls measured, less the slowest round trips, one for each stall, which the stalls model on
 * their own.
 */
export function calibrateNode(m: NodeMeasurements, rng: Rng, draws = 50_000): NodeCosts {
  const ownRequest = m.ownRequestMs ?? 0;
  const ownAnswer = m.ownAnswerMs ?? 0;
  // In the one-client run each stall held up the one request in flight: its round trips hold the stalls once, which the model
  // has on their own, so the answer pass (what is left of the mean round trip) gives them up, and the wire its slowest round
  // trips, one per stall.
  const stalls = m.loopStalls ? stallsFrom(m.loopStalls) : undefined;
  const remainder = Math.max(ownAnswer, m.roundTripMeanMs - m.clientMs - m.arrivalPassMs - m.batchMs - (stalls?.msPerRequest ?? 0));
  const arrivalPass = Math.max(m.arrivalPassMs, ownRequest);
  // A collection's time is loop CPU, which the loop's figure holds on average: the stalls take it over.
  const loopCpu = m.loopMs - (stalls?.gcMsPerRequest ?? 0);
  const answerPass = Math.min(remainder, Math.max(ownAnswer, loopCpu - arrivalPass));
  const requestMs = Math.max(0, m.arrivalPassMs - ownRequest);
  const answerMs = answerPass - ownAnswer;
  const afterMs = Math.max(0, loopCpu - arrivalPass - answerPass);
  const shift = m.roundTripMeanMs - (stalls?.msPerRequest ?? 0) - m.clientMs - (remainder - answerPass);
  const late = m.lateness ? latenessSpread(m.lateness) : undefined;
  const wire: number[] = [];
  const kept = 1 - (stalls?.stalls.perRequest ?? 0);
  for (let i = 0; i < draws; i++) wire.push(Math.max(0, inverse(m.roundTrip, kept * rng()) - shift) + (late ? quantile(late, rng()) : 0));
  const client = m.clientStalls ? clientStallsFrom(m.clientStalls) : undefined;
  return {
    requestMs, answerMs, afterMs, wire: spreadOf(wire), ...(stalls ? { stalls: stalls.stalls } : {}), ...(client ? { clientStalls: client } : {}),
    ...(m.cores !== undefined ? { cores: m.cores } : {}), background: m.backgroundCores ?? 0,
  };
}

/**
 * The loop's CPU per request at `rate`, from two runs at other rates: its CPU per second taken as
 * a fixed part (timers, wake-ups of an idle loop) plus a part per request, through both runs'
 * points. Measured on one warm server (the example cnn and text_encoder, JSON, 5 s runs):
 * 0.78 to 0.89 ms per request at 370/s, 0.61 to 0.67 at 740/s, 0.50 to 0.57 saturated at about
 * 1450/s; through the outer two this gives 0.63 at 740/s, where the smaller of them, taken
 * before, gave 0.53 on warm code. Outside the two rates it holds at the nearer run's figure.
 */
export function loopMsAt(rate: number, a: { rate: number; ms: number }, b: { rate: number; ms: number }): number {
  const [lo, hi] = a.rate <= b.rate ? [a, b] : [b, a];
  if (rate <= lo.rate || hi.rate <= lo.rate) return lo.ms;
  if (rate >= hi.rate) return hi.ms;
  const perRequest = (hi.ms * hi.rate - lo.ms * lo.rate) / (hi.rate - lo.rate);
  const perSecond = lo.ms * lo.rate - perRequest * lo.rate;
  return perRequest + perSecond / rate;
}

/** Shortest stall the model takes, ms: below it, the waits are the small ones every pass has, which the passes' means hold. */
export const MIN_STALL_MS = 1;

/** What the loop probe saw in one run (its `stalls`), with the requests the server answered meanwhile. */
export interface StallRun {
  requests: number;
  stalls: Array<{ gapMs: number; runMs: number; waitMs: number; gcMs: number }>;
}

/**
 * The loop's stalls from what the probe saw in a run: each gap's time waiting for a core and
 * collecting (the rest of a gap is the thread serving requests, which the passes model), those
 * of at least MIN_STALL_MS, per request answered. `gcMsPerRequest` is the collections' share,
 * which the loop's CPU per request also holds, `msPerRequest` all of it. Undefined when there were none.
 */
export function stallsFrom(r: StallRun): { stalls: Stalls; gcMsPerRequest: number; msPerRequest: number } | undefined {
  const kept = r.stalls.map((s) => ({ ms: s.waitMs + s.gcMs, gcMs: s.gcMs })).filter((s) => s.ms >= MIN_STALL_MS);
  if (kept.length === 0 || r.requests <= 0) return undefined;
  return {
    stalls: { perRequest: Math.min(1, kept.length / r.requests), ...spreadOf(kept.map((s) => s.ms)) },
    gcMsPerRequest: kept.reduce((sum, s) => sum + s.gcMs, 0) / r.requests,
    msPerRequest: kept.reduce((sum, s) => sum + s.ms, 0) / r.requests,
  };
}

/** The load generator's stalls as a rate and a spread of lengths, those of at least MIN_STALL_MS; undefined when there were none. */
export function clientStallsFrom(r: { spanMs: number; stallsMs: number[] }): ClientStalls | undefined {
  const kept = r.stallsMs.filter((ms) => ms >= MIN_STALL_MS);
  if (kept.length === 0 || r.spanMs <= 0) return undefined;
  return { perSecond: kept.length / (r.spanMs / 1000), ...spreadOf(kept) };
}

/**
 * A model's tail from the batch times a running server saw (its compute histogram of the
 * one-client run, cumulative counts by upper bound in ms): the fractions of batches over each
 * bound from `floorMs` up. The floor is where the profile's own timings thin out (its largest
 * p99), so that the tail adds mostly what a model timed alone does not show: measured here,
 * 0.05 to 0.3% of the CNN's batches took over 20 ms in a server at one request at a time, and
 * none of 3000 timed alone. Undefined when no batch went past the floor.
 */
export function tailFrom(buckets: Array<{ le: number; count: number }>, floorMs: number): Tail | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  const over = buckets.filter((b) => b.le >= floorMs && Number.isFinite(b.le) && b.count < total).map((b) => ({ ms: b.le, fraction: (total - b.count) / total }));
  if (over.length === 0) return undefined;
  const full = buckets.find((b) => b.count === total)!;
  const finite = buckets.filter((b) => Number.isFinite(b.le));
  return { over, maxMs: Number.isFinite(full.le) ? full.le : 2 * finite.at(-1)!.le };
}

/**
 * The floor `tailFrom` reads a one-client run's batch times from: the largest p99 the profile
 * gives for the batches that run dispatches, one row each, back to back or after an idle time.
 * Larger batch sizes never run there, so their p99s are no floor: the example cnn's 32-row p99,
 * 10 ms, once stood over one-row batches whose p99 back to back was 0.6 ms, and left it no tail.
 */
export function tailFloorMs(m: Pick<ModelCost, 'latency' | 'idle'>): number {
  const one = [...m.latency.filter((p) => p.batchSize === 1), ...(m.idle ?? [])];
  const points = one.length > 0 ? one : [m.latency.reduce((a, b) => (b.batchSize < a.batchSize ? b : a))];
  return Math.max(...points.map((p) => p.p99Ms ?? p.ms));
}

/**
 * Timer lateness from the three figures the generator reports. Its timers fire on a clock of
 * whole milliseconds, so most sends are late by a fraction of one, evenly: the body is taken
 * as uniform up to the 90th percentile (1.8 × the median), the tail linear through p99 to max.
 */
export function latenessSpread(l: { p50: number; p99: number; max: number }): Spread {
  return { ms: l.p50, p10Ms: 0.2 * l.p50, p90Ms: Math.min(l.p99, 1.8 * l.p50), p99Ms: l.p99, maxMs: Math.max(l.p99, l.max) };
}

function inverse(points: Array<{ q: number; ms: number }>, u: number): number {
  for (let i = 1; i < points.length; i++) {
    const b = points[i]!;
    if (u <= b.q) {
      const a = points[i - 1]!;
      return b.q > a.q ? a.ms + ((b.ms - a.ms) * (u - a.q)) / (b.q - a.q) : b.ms;
    }
  }
  return points.at(-1)?.ms ?? 0;
}

export function spreadOf(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { ms: at(0.5), p10Ms: at(0.1), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: s.at(-1)! };
}
