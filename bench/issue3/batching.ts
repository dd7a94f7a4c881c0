/**
 * Issue 3 (a): for a model served with dynamic batching off and on, the highest Poisson rate
 * whose p99 latency stays under the objective, found by a short search (lib/rate-search.ts)
 * that starts from half the rate a closed loop of clients saturates the server at.
 */
import type { PointStats } from '../../src/bench/recorder.js';
import { measure, trouble } from '../lib/measure.js';
import { bestRate, nextRate, type Trial } from '../lib/rate-search.js';

export const P99_OBJECTIVE_MS = 50;
export const HINT_CLIENTS = 32;
/** The search stops once the failing rate is within this factor of the passing one: the ratio of two searches is this coarse. */
export const SEARCH_RESOLUTION = 1.08;

export interface SearchPoint extends Trial { stats: PointStats; why?: string }

export interface BatchingResult {
  model: string;
  batching: boolean;
  /** Saturated closed-loop rate, the search's starting hint. */
  hintPerS: number;
  points: SearchPoint[];
  /** Highest rate that met the objective, below every rate that did not. */
  best?: number;
}

export interface SearchSettings { pointS: number; warmupS: number; maxTrials: number; hintS: number }

/**
 * Why a point fails the objective, or undefined when it meets it. A generator that fell behind
 * does not fail a point by itself: latency counts from the intended send time, so its lateness
 * is already in the p99, against the server.
 */
export function failure(s: PointStats): string | undefined {
  if (!s.latencyMs) return 'no answers';
  if (s.errorCount > 0) return `errors: ${trouble(s)}`;
  if (s.latencyMs.p99 >= P99_OBJECTIVE_MS) return `p99 ${s.latencyMs.p99.toFixed(1)} ms`;
  return undefined;
}

export async function searchRate(url: string, m: { model: string; dim?: number }, batching: boolean, o: SearchSettings, say: (l: string) => void): Promise<BatchingResult> {
  const common = { url, model: m.model, binary: true, ...(m.dim !== undefined ? { dim: m.dim } : {}) };
  const hint = await measure({ ...common, mode: 'concurrency', level: HINT_CLIENTS, durationS: o.hintS, warmupS: o.warmupS });
  const points: SearchPoint[] = [];
  const settings = { start: Math.max(10, hint.throughputPerS / 2), maxTrials: o.maxTrials, resolution: SEARCH_RESOLUTION, minRate: 5 };
  for (let rate = nextRate(points, settings); rate !== undefined; rate = nextRate(points, settings)) {
    const stats = await measure({ ...common, mode: 'rate', level: rate, durationS: o.pointS, warmupS: o.warmupS });
    const why = failure(stats);
    say(`  ${m.model} batching ${batching ? 'on' : 'off'}: ${rate}/s → p99 ${stats.latencyMs?.p99.toFixed(1) ?? '–'} ms ${why ? `(fail: ${why})` : '(pass)'}${stats.generatorKeptUp ? '' : ', generator behind'}`);
    points.push({ rate, pass: why === undefined, stats, ...(why ? { why } : {}) });
  }
  const best = bestRate(points);
  return { model: m.model, batching, hintPerS: hint.throughputPerS, points, ...(best !== undefined ? { best } : {}) };
}
