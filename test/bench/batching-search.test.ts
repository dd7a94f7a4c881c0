/** Issue 3's batching search judges a rate near the objective by two runs (bench/issue3/batching.ts). */
import { describe, expect, it } from 'vitest';
import type { PointStats } from '../../src/bench/recorder.js';
import { judge, marginal, P99_OBJECTIVE_MS } from '../../bench/issue3/batching.js';

const point = (p99: number, errorCount = 0): PointStats => ({ latencyMs: { p99 }, errorCount, errors: {} }) as unknown as PointStats;

describe('the batching search near its objective', () => {
  it('measures again only a p99 within the margin of the objective, either side, and only without errors', () => {
    expect(marginal(point(P99_OBJECTIVE_MS * 1.04))).toBe(true);
    expect(marginal(point(P99_OBJECTIVE_MS * 0.9))).toBe(true);
    expect(marginal(point(P99_OBJECTIVE_MS * 3))).toBe(false);
    expect(marginal(point(P99_OBJECTIVE_MS * 0.2))).toBe(false);
    expect(marginal(point(P99_OBJECTIVE_MS * 0.9, 2))).toBe(false);
  });

  it('judges a repeated rate by the mean of its two p99s, and a single run by its own', () => {
    expect(judge(point(51.9), point(40))).toEqual({ p99Ms: 45.95 });
    expect(judge(point(45), point(60)).why).toBe('p99 52.5 ms');
    expect(judge(point(30))).toEqual({ p99Ms: 30 });
    expect(judge(point(80)).why).toBe('p99 80.0 ms');
  });

  it('fails a repeated rate whose second run had errors', () => {
    expect(judge(point(40), { ...point(40, 1), errors: { 'HTTP 500': { count: 1, sample: 'boom' } } } as unknown as PointStats).why).toMatch(/^errors/);
  });
});
