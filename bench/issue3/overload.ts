/**
 * Issue 3 (c): offer 5× what the server can do, every request carrying a deadline, and check
 * that it keeps answering most requests in time (goodput close to the best it managed below
 * overload), that its memory stays flat, and that every request gets an answer: a result or
 * a refusal, never silence.
 */
import type { PointStats } from '../../src/bench/recorder.js';
import { measure } from '../lib/measure.js';
import { sampleRss, type RssSample } from '../lib/process.js';
import { sharesDuring, type ThreadGroupShare } from '../lib/threads.js';
import { type BatchSplit, splitDuring } from '../lib/compute-split.js';

export const OVERLOAD = { factor: 5, deadlineMs: 50, goodputTarget: 0.8, flatGrowth: 0.1 } as const;
/** Offered loads, as shares of the closed-loop capacity, tried to find the best goodput. */
export const GOODPUT_SHARES = [0.5, 0.8, 1, 1.25];
export const CAPACITY_CLIENTS = 32;

export interface OverloadModel { model: string; batch: number; dim?: number }

export interface OverloadResult {
  model: OverloadModel;
  capacityPerS: number;
  /** The highest answered rate of the capacity run and the sweep: the overload rate is OVERLOAD.factor × this. */
  answeredPerS: number;
  /** A point whose run failed (say, the server refused the generator's first request) has an error instead of stats. */
  sweep: Array<{ rate: number; stats?: PointStats; error?: string; threads?: ThreadGroupShare[]; split?: BatchSplit }>;
  bestGoodputPerS: number;
  rate: number;
  durationS: number;
  stats: PointStats;
  rss: RssSample[];
  memory: { start?: number; middle?: number; end?: number; max?: number; flat: boolean };
  counts: { sent: number; answered: number; refused: number; otherErrors: number; unanswered: number };
  goodputRatio: number;
  /** Where the cores went during the overload, server and generator (bench/lib/threads.ts); absent off Linux. */
  threads?: ThreadGroupShare[];
  /** How the model's batches spent their compute time during the overload (bench/lib/compute-split.ts). */
  split?: BatchSplit;
}

const REFUSALS = new Set(['HTTP 429', 'HTTP 503']);
/** Kinds that mean the client got no answer at all. */
const SILENCE = new Set(['timeout', 'connection reset', 'network error']);

export function answerCounts(s: PointStats): OverloadResult['counts'] {
  let refused = 0;
  let otherErrors = 0;
  let unanswered = 0;
  for (const [kind, e] of Object.entries(s.errors)) {
    if (REFUSALS.has(kind)) refused += e.count;
    else if (SILENCE.has(kind) || kind.startsWith('network')) unanswered += e.count;
    else otherErrors += e.count;
  }
  return { sent: s.sent, answered: s.ok, refused, otherErrors, unanswered };
}

/** Resident memory at the start, middle and end of the run, and whether the second half stayed flat. */
export function memoryShape(rss: RssSample[], durationS: number, flatGrowth: number): OverloadResult['memory'] {
  if (rss.length === 0) return { flat: false };
  const at = (t: number): number => rss.reduce((a, b) => (Math.abs(b.tS - t) < Math.abs(a.tS - t) ? b : a)).bytes;
  const start = rss[0]!.bytes;
  const middle = at(durationS / 2);
  const end = at(durationS);
  return { start, middle, end, max: Math.max(...rss.map((s) => s.bytes)), flat: end <= middle * (1 + flatGrowth) };
}

/** The sweep's point with the most goodput. */
export function bestGoodputPoint(o: Pick<OverloadResult, 'sweep'>): OverloadResult['sweep'][number] | undefined {
  return o.sweep.reduce<OverloadResult['sweep'][number] | undefined>((a, p) => ((p.stats?.goodputPerS ?? -1) > (a?.stats?.goodputPerS ?? -1) ? p : a), undefined);
}

export async function overload(url: string, pid: number, m: OverloadModel, o: { durationS: number; pointS: number; warmupS: number }, say: (l: string) => void): Promise<OverloadResult> {
  const common = { url, model: m.model, binary: true, batch: m.batch, deadlineMs: OVERLOAD.deadlineMs, ...(m.dim !== undefined ? { dim: m.dim } : {}) };
  // Capacity without deadlines: with them, admission refuses what a closed loop piles up, and the answered rate says little.
  const { deadlineMs: _, ...noDeadline } = common;
  // The server is fresh: a first closed loop warms it (sessions, the latency profile), and only the second is counted.
  await measure({ ...noDeadline, mode: 'concurrency', level: CAPACITY_CLIENTS, durationS: o.pointS, warmupS: o.warmupS });
  const capacity = await measure({ ...noDeadline, mode: 'concurrency', level: CAPACITY_CLIENTS, durationS: o.pointS, warmupS: o.warmupS });
  const capacityPerS = capacity.throughputPerS;
  const sweep: OverloadResult['sweep'] = [];
  const shares = [...GOODPUT_SHARES];
  for (let k = 0; k < shares.length; k++) {
    const share = shares[k]!;
    const rate = Math.max(1, Math.round(capacityPerS * share));
    try {
      const { result: { result: stats, split }, threads } = await sharesDuring(pid, () => splitDuring(url, m.model, () => measure({ ...common, mode: 'rate', level: rate, durationS: o.pointS, warmupS: o.warmupS })));
      say(`  ${m.model}: ${rate}/s → goodput ${stats.goodputPerS?.toFixed(0)}/s`);
      sweep.push({ rate, stats, ...(threads ? { threads } : {}), ...(split ? { split } : {}) });
      // Goodput still rising at the last share: the capacity estimate was low, so look once further up.
      const best = Math.max(...sweep.map((p) => p.stats?.goodputPerS ?? 0));
      if (k === shares.length - 1 && shares.length === GOODPUT_SHARES.length && stats.goodputPerS === best) shares.push(share * 1.6);
    } catch (err) {
      say(`  ${m.model}: ${rate}/s failed: ${(err as Error).message}`);
      sweep.push({ rate, error: (err as Error).message });
    }
  }
  const bestGoodputPerS = Math.max(0, ...sweep.map((p) => p.stats?.goodputPerS ?? 0));
  // Overload is judged against the most the server answered anywhere in this run, so an estimate that was low cannot soften it.
  const answeredPerS = Math.max(capacityPerS, ...sweep.map((p) => p.stats?.throughputPerS ?? 0));
  const rate = Math.round(answeredPerS * OVERLOAD.factor);
  say(`  overload: ${rate}/s for ${o.durationS} s (server pid ${pid})…`);
  // Warm-up 0: the climb into overload is part of what is judged, and every request is counted.
  const sampler = sampleRss(pid, 1000);
  let stats: PointStats;
  let rss: RssSample[];
  let threads: ThreadGroupShare[] | undefined;
  let split: BatchSplit | undefined;
  try {
    ({ result: { result: stats, split }, threads } = await sharesDuring(pid, () => splitDuring(url, m.model, () => measure({ ...common, mode: 'rate', level: rate, durationS: o.durationS, warmupS: 0 }))));
  } finally {
    rss = sampler.stop();
  }
  const counts = answerCounts(stats);
  return {
    model: m, capacityPerS, answeredPerS, sweep, bestGoodputPerS, rate, durationS: o.durationS, stats, rss,
    memory: memoryShape(rss, o.durationS, OVERLOAD.flatGrowth), counts,
    goodputRatio: bestGoodputPerS > 0 ? (stats.goodputPerS ?? 0) / bestGoodputPerS : NaN, ...(threads ? { threads } : {}), ...(split ? { split } : {}),
  };
}
