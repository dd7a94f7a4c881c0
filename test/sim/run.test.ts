import { describe, expect, it } from 'vitest';
import type { ProfileFile } from '../../src/sim/cost-model.js';
import { runSimulation, type RunOptions } from '../../src/sim/run.js';

const profile: ProfileFile = {
  schema: 'shoal-profile/1', hardware: 'test',
  node: { requestMs: 0.1, answerMs: 0.1, afterMs: 0, background: 0, wire: { ms: 0.5, p10Ms: 0.2, p90Ms: 1, p99Ms: 3, maxMs: 5 } },
  models: [{
    name: 'm', instances: 1, batching: { maxBatchSize: 0 }, loadMs: 0, footprintBytes: 0, overheadMs: 0,
    latency: [{ batchSize: 1, ms: 1, p10Ms: 0.8, p90Ms: 1.5, p99Ms: 3, maxMs: 6 }],
  }],
};
const options = (more: Partial<RunOptions>): RunOptions => ({
  profile, profileFile: 'test', seed: 1, nodes: 1, router: 'round-robin', evictionPolicy: 'lru', networkDelayMs: 0, variation: true, timeoutMs: 30_000,
  spec: { models: ['m'], rate: 300, arrival: 'poisson', duration: 5, warmup: 1, seed: 1 },
  workload: { kind: 'open', process: { kind: 'poisson', ratePerS: 300 }, models: ['m'], popularity: { kind: 'uniform' }, durationMs: 6000 },
  ...more,
});

describe('runSimulation', () => {
  it("draws the model's own randomness from drawSeed and the arrivals from seed", () => {
    const base = runSimulation(options({})).points[0]!.stats;
    expect(runSimulation(options({ drawSeed: 1 })).points[0]!.stats).toEqual(base);
    const other = runSimulation(options({ drawSeed: 2 })).points[0]!.stats;
    expect(other.sent).toBe(base.sent);
    expect(other.latencyMs?.p50).not.toBe(base.latencyMs?.p50);
    expect(runSimulation(options({ seed: 2, drawSeed: 1 })).points[0]!.stats.sent).not.toBe(base.sent);
  });
});
