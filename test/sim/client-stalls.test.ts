/**
 * The load generator's own stalls (src/sim/client-stalls.ts): an answer that reaches the client
 * while its loop is stopped is read when the loop goes on; and how calibration reads them.
 */
import { describe, expect, it } from 'vitest';
import { router } from '../../src/routing/router.js';
import { clientStallsFrom, MIN_STALL_MS } from '../../src/sim/calibrate.js';
import { ClientStallTimeline } from '../../src/sim/client-stalls.js';
import type { ModelCost, NodeCosts } from '../../src/sim/cost-model.js';
import { simulate } from '../../src/sim/simulate.js';

describe('ClientStallTimeline', () => {
  it('lays stalls out as a Poisson process and holds back an answer that falls in one until it ends', () => {
    // Every draw 0.5: gaps of ln 2 × 100 ms (10 stalls a second), each stall the median, 5 ms.
    const t = new ClientStallTimeline({ perSecond: 10, ms: 5 }, () => 0.5);
    const gap = Math.LN2 * 100;
    expect(t.readAt(gap - 1)).toBe(gap - 1);
    expect(t.readAt(gap + 1)).toBeCloseTo(gap + 5, 9);
    expect(t.readAt(gap + 5.5)).toBe(gap + 5.5);
    // The second stall starts a gap after the first ends.
    expect(t.readAt(2 * gap + 5 + 2)).toBeCloseTo(2 * gap + 10, 9);
    // Asked out of order (answers' wire times differ), it still knows the earlier stalls.
    expect(t.readAt(gap + 4)).toBeCloseTo(gap + 5, 9);
  });

  it('never stops with no stalls a second', () => {
    const t = new ClientStallTimeline({ perSecond: 0, ms: 5 }, () => 0.5);
    expect(t.readAt(123)).toBe(123);
  });
});

describe('a simulation with the client\'s stalls', () => {
  const model: ModelCost = { name: 'm', instances: 1, batching: { maxBatchSize: 0 }, latency: [{ batchSize: 1, ms: 1 }], loadMs: 0, footprintBytes: 0, overheadMs: 0 };
  const node = (more: Partial<NodeCosts>): NodeCosts => ({ requestMs: 0, answerMs: 0, afterMs: 0, background: 0, ...more });
  const run = (n: NodeCosts, seed = 1, variation = true) => simulate({
    models: [model], arrivals: Array.from({ length: 2000 }, (_, i) => ({ atMs: i * 10, model: 'm' })), nodes: 1, router: router('round-robin'),
    seed, variation, node: n, window: { startMs: 0, endMs: Infinity }, binMs: 1000,
  }).stats;

  it('delays the answers that land in a stall by what is left of it, and no others', () => {
    // 100 stalls a second of 5 ms each: the client is stopped about a third of the time (gaps between stalls average 10 ms).
    const s = run(node({ clientStalls: { perSecond: 100, ms: 5 } }));
    expect(s.latencyMs!.min).toBeCloseTo(1, 6);
    expect(s.latencyMs!.max).toBeLessThanOrEqual(6 + 1e-6);
    expect(s.latencyMs!.max).toBeGreaterThan(5);
    // A third of the answers wait 2.5 ms on average: about 0.8 ms more per request.
    expect(s.latencyMs!.mean).toBeGreaterThan(1.5);
    expect(s.latencyMs!.mean).toBeLessThan(2.2);
    expect(run(node({ clientStalls: { perSecond: 100, ms: 5 } }))).toEqual(s);
    // Without the stalls, or with the median-only model (no variation), every answer takes 1 ms.
    expect(run(node({})).latencyMs!.max).toBeCloseTo(1, 6);
    expect(run(node({ clientStalls: { perSecond: 100, ms: 5 } }), 1, false).latencyMs!.max).toBeCloseTo(1, 6);
  });
});

describe('clientStallsFrom', () => {
  it('turns a watched span into stalls a second and a spread of their lengths, leaving out those under the minimum', () => {
    const c = clientStallsFrom({ spanMs: 2000, stallsMs: [4, 6, 30, MIN_STALL_MS / 2] })!;
    expect(c.perSecond).toBe(1.5);
    expect(c.ms).toBe(6);
    expect(c.maxMs).toBe(30);
    expect(clientStallsFrom({ spanMs: 2000, stallsMs: [] })).toBeUndefined();
  });
});
