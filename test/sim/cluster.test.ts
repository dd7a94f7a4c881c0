/**
 * The cluster model: memory budgets with the model manager's eviction policies, load time
 * charged to the requests that wait for a load, routing policies compared on the same load.
 */
import { describe, expect, it } from 'vitest';
import { workloadArrivals, type Workload } from '../../src/bench/workload.js';
import { evictionPolicy } from '../../src/models/eviction.js';
import { router, type RouterName } from '../../src/routing/router.js';
import type { ModelCost } from '../../src/sim/cost-model.js';
import { type SimArrival, simulate } from '../../src/sim/simulate.js';

const MiB = 1024 * 1024;
const model = (name: string, more: Partial<ModelCost> = {}): ModelCost => ({
  name, instances: 1, batching: { maxBatchSize: 0 }, latency: [{ batchSize: 1, ms: 1 }], loadMs: 200, footprintBytes: 100 * MiB, overheadMs: 0, ...more,
});
const run = (models: ModelCost[], arrivals: Iterable<SimArrival>, more: Partial<Parameters<typeof simulate>[0]> = {}) =>
  simulate({ models, arrivals, nodes: 1, router: router('round-robin'), seed: 1, window: { startMs: 0, endMs: Infinity }, binMs: 100, ...more });

describe('memory budget and eviction', () => {
  it('loads on demand, charges the load to the requests waiting for it, and evicts idle models to make room', () => {
    // Room for one model: a, then b (evicts a), then a again (evicts b).
    const arrivals: SimArrival[] = [{ atMs: 0, model: 'a' }, { atMs: 1, model: 'a' }, { atMs: 1000, model: 'b' }, { atMs: 2000, model: 'a' }];
    const r = run([model('a'), model('b')], arrivals, { memoryBudgetBytes: 150 * MiB, eviction: evictionPolicy('lru') });
    expect(r.stats.ok).toBe(4);
    expect(r.nodes[0]).toMatchObject({ loads: 3, evictions: 2, peakMemoryBytes: 100 * MiB });
    // Each request waited for its model's 200 ms load, then ran for 1 ms (the second behind the first).
    expect(r.stats.latencyMs!.min).toBeCloseTo(201, 0);
    expect(r.stats.latencyMs!.max).toBeCloseTo(201, 0);
  });

  it('never evicts a model that is busy: a request that cannot make room is refused with 503', () => {
    const arrivals: SimArrival[] = [{ atMs: 0, model: 'a' }, { atMs: 10, model: 'b' }];
    const r = run([model('a', { latency: [{ batchSize: 1, ms: 500 }] }), model('b')], arrivals, { memoryBudgetBytes: 150 * MiB });
    expect(r.stats.ok).toBe(1);
    expect(r.stats.errors['HTTP 503']?.count).toBe(1);
    expect(r.stats.errors['HTTP 503']?.sample).toMatch(/does not fit node 0's memory budget/);
  });

  it('cost-aware eviction keeps the model that is expensive to reload where LRU drops it', () => {
    // Room for two of three models used in turn: LRU always evicts the next one needed, a
    // included, whose load takes 2 s; cost-aware evicts the cheap ones and keeps a resident.
    const models = [model('a', { loadMs: 2000 }), model('b', { loadMs: 50 }), model('c', { loadMs: 50 })];
    const arrivals: SimArrival[] = [];
    for (let t = 0; t < 60_000; t += 1000) arrivals.push({ atMs: t, model: 'a' }, { atMs: t + 300, model: 'b' }, { atMs: t + 600, model: 'c' });
    const lru = run(models, arrivals, { memoryBudgetBytes: 250 * MiB, eviction: evictionPolicy('lru') });
    const cost = run(models, arrivals, { memoryBudgetBytes: 250 * MiB, eviction: evictionPolicy('cost-aware') });
    expect(cost.stats.latencyMs!.p50).toBeLessThan(lru.stats.latencyMs!.p50 / 5);
    expect(cost.stats.ok).toBeGreaterThan(lru.stats.ok);
  });
});

describe('routing in the cluster', () => {
  const w: Workload = {
    kind: 'open', process: { kind: 'poisson', ratePerS: 4000 }, models: Array.from({ length: 12 }, (_, i) => `m${i}`),
    popularity: { kind: 'zipf', s: 1.2 }, durationMs: 10_000,
  };
  const models = w.models.map((name) => model(name, { loadMs: 300, latency: [{ batchSize: 1, ms: 2 }] }));
  const cluster = (name: RouterName, memoryBudgetBytes?: number) => simulate({
    models, arrivals: workloadArrivals(w, 5), nodes: 8, router: router(name), seed: 5, ...(memoryBudgetBytes ? { memoryBudgetBytes } : {}),
    window: { startMs: 0, endMs: 10_000 }, binMs: 1000,
  });

  it('model affinity loads fewer models and serves more than round robin when nodes cannot hold every model', () => {
    // Room for 3 of the 12 models per node: round robin makes every node load everything in turn.
    const rr = cluster('round-robin', 300 * MiB);
    const affinity = cluster('model-affinity', 300 * MiB);
    const loads = (r: ReturnType<typeof cluster>) => r.nodes.reduce((n, x) => n + x.loads, 0);
    expect(loads(affinity)).toBeLessThan(loads(rr) * 0.8);
    expect(affinity.stats.ok).toBeGreaterThan(rr.stats.ok * 1.3);
    expect(affinity.stats.latencyMs!.p50).toBeLessThan(rr.stats.latencyMs!.p50);
  });

  it('reports per-node utilisation and memory over time (no budget: every model resident everywhere)', () => {
    const r = cluster('power-of-two');
    expect(r.timeline.busyInstances).toHaveLength(8);
    expect(r.timeline.memoryBytes[0]!.length).toBe(r.timeline.busyInstances[0]!.length);
    for (const n of r.nodes) {
      expect(n.busyInstances).toBeGreaterThan(0);
      expect(n.peakMemoryBytes).toBe(12 * 100 * MiB);
    }
    // 4000/s × 2 ms spread over 8 nodes: about one busy instance per node.
    const mean = r.nodes.reduce((s, n) => s + n.busyInstances, 0) / 8;
    expect(mean).toBeGreaterThan(0.8);
    expect(mean).toBeLessThan(1.3);
  });
});
