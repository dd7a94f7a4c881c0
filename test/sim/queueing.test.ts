/**
 * Queueing cases with a known answer, and determinism for a seed.
 */
import { describe, expect, it } from 'vitest';
import { workloadArrivals, type Workload } from '../../src/bench/workload.js';
import { router } from '../../src/routing/router.js';
import type { ModelCost } from '../../src/sim/cost-model.js';
import { simulate } from '../../src/sim/simulate.js';

const model = (name: string, ms: number, more: Partial<ModelCost> = {}): ModelCost => ({
  name, instances: 1, batching: { maxBatchSize: 0 }, latency: [{ batchSize: 1, ms }], loadMs: 0, footprintBytes: 0, overheadMs: 0, ...more,
});

function run(w: Workload, models: ModelCost[], seed = 1, nodes = 1, name: Parameters<typeof router>[0] = 'round-robin') {
  return simulate({
    models, arrivals: workloadArrivals(w, seed), nodes, router: router(name), seed,
    window: { startMs: 0, endMs: w.kind === 'open' ? w.durationMs : Infinity }, binMs: 1000,
  });
}

describe('M/D/1', () => {
  it('mean wait matches Pollaczek–Khinchine within 3%', () => {
    // Service 1 ms (μ = 1/ms), Poisson arrivals at ρ = 0.7: Wq = ρ / (2μ(1 − ρ)) = 1.1667 ms.
    const rho = 0.7;
    const w: Workload = { kind: 'open', process: { kind: 'poisson', ratePerS: rho * 1000 }, models: ['d'], popularity: { kind: 'uniform' }, durationMs: 300_000 };
    const r = run(w, [model('d', 1)]);
    const expected = rho / (2 * 1 * (1 - rho));
    const meanWait = r.stats.latencyMs!.mean - 1;
    expect(r.stats.ok).toBeGreaterThan(200_000);
    expect(Math.abs(meanWait - expected) / expected).toBeLessThan(0.03);
  });
});

describe('determinism', () => {
  const w: Workload = { kind: 'open', process: { kind: 'gamma', ratePerS: 3000, cv: 2 }, models: ['a', 'b', 'c'], popularity: { kind: 'zipf', s: 1.1 }, durationMs: 5_000 };
  const models = [model('a', 1, { latency: [{ batchSize: 1, ms: 1, p10Ms: 0.8, p90Ms: 1.4, p99Ms: 3 }] }), model('b', 2), model('c', 0.5)];

  it('the same seed gives the same results, another seed different ones', () => {
    const one = run(w, models, 7, 8, 'power-of-two');
    const two = run(w, models, 7, 8, 'power-of-two');
    expect(two.stats).toEqual(one.stats);
    expect(two.nodes).toEqual(one.nodes);
    const other = run(w, models, 8, 8, 'power-of-two');
    expect(other.stats.latencyMs).not.toEqual(one.stats.latencyMs);
  });
});
