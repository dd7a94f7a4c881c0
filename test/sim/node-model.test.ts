/**
 * The node model around the shared policies: the event loop every request passes twice, the
 * wire outside the node, instances that pay for waking after idling, and cores the instances
 * share with the loop. Times are exact: no spread unless a test asks for one.
 */
import { describe, expect, it } from 'vitest';
import { substream } from '../../src/bench/random.js';
import { workloadArrivals, type Workload } from '../../src/bench/workload.js';
import { router } from '../../src/routing/router.js';
import { calibrateNode, latenessSpread, tailFloorMs, tailFrom } from '../../src/sim/calibrate.js';
import { CostModel, type ModelCost, type NodeCosts, quantile, tailMs } from '../../src/sim/cost-model.js';
import { MIN_SHARE, NodeCpus } from '../../src/sim/cpu.js';
import { EVENT } from '../../src/sim/model-queue.js';
import { type SimArrival, simulate } from '../../src/sim/simulate.js';

const model = (more: Partial<ModelCost> = {}): ModelCost => ({
  name: 'm', instances: 1, batching: { maxBatchSize: 0 }, latency: [{ batchSize: 1, ms: 1 }], loadMs: 0, footprintBytes: 0, overheadMs: 0, ...more,
});
const loop = (more: Partial<NodeCosts>): NodeCosts => ({ requestMs: 0, answerMs: 0, afterMs: 0, background: 0, ...more });

/** Each request's dispatch and answer times on one node. */
function run(arrivals: SimArrival[], node: NodeCosts, models = [model()]) {
  const dispatched = new Map<number, number>();
  const answered = new Map<number, number>();
  const r = simulate({
    models, arrivals, nodes: 1, router: router('round-robin'), seed: 1, variation: false, node,
    window: { startMs: 0, endMs: Infinity }, binMs: 1000,
    trace: { dispatch: (t, _n, _m, _i, ids) => ids.forEach((id) => dispatched.set(id, t)), answer: (t, id) => answered.set(id, t) },
  });
  return { r, dispatched, answered };
}

describe('the event loop', () => {
  it('takes each request twice, once on arrival and once for its answer, and its after-work delays only what follows', () => {
    const { dispatched, answered } = run([{ atMs: 0, model: 'm' }, { atMs: 0, model: 'm' }], loop({ requestMs: 0.2, answerMs: 0.3, afterMs: 0.5 }));
    // First: arrival pass [0, 0.2], compute [0.2, 1.2], answer [1.2, 1.5]. Second: arrival [0.2, 0.4],
    // dispatched when the loop reads the first's result (1.2), compute to 2.2; the loop is free
    // again at 2.0 (answer 0.3 + after 0.5), so the second's answer leaves at 2.5.
    expect(dispatched.get(0)).toBeCloseTo(0.2, 9);
    expect(answered.get(0)).toBeCloseTo(1.5, 9);
    expect(dispatched.get(1)).toBeCloseTo(1.2, 9);
    expect(answered.get(1)).toBeCloseTo(2.5, 9);
  });

  it('keeps an instance taken until the loop gets to its finished batch', () => {
    // The first batch finishes at 1.5 while the loop works on the second arrival until 2: the
    // instance is free, and the second request dispatched, only then.
    const { dispatched, answered } = run([{ atMs: 0, model: 'm' }, { atMs: 0.9, model: 'm' }], loop({ requestMs: 1 }), [model({ latency: [{ batchSize: 1, ms: 0.5 }] })]);
    expect(answered.get(0)).toBeCloseTo(2, 9);
    expect(dispatched.get(1)).toBeCloseTo(2, 9);
    expect(answered.get(1)).toBeCloseTo(2.5, 9);
  });

  it('frees the instance when an arrival collects its finished batch, as live, though the answer still waits for the loop', () => {
    // The first batch finishes at 1.5; the loop has the second and third arrivals to read until 3,
    // and only then would it reach the worker's message. The second's arrival ends at 2 and, as
    // ModelScheduler.submit does, collects the finished batch first: it is dispatched at 2, not
    // 3. The first's answer still leaves when the loop gets to it, at 3.
    const arrivals = [{ atMs: 0, model: 'm' }, { atMs: 0.9, model: 'm' }, { atMs: 0.95, model: 'm' }];
    const { dispatched, answered } = run(arrivals, loop({ requestMs: 1 }), [model({ latency: [{ batchSize: 1, ms: 0.5 }] })]);
    expect(dispatched.get(1)).toBeCloseTo(2, 9);
    expect(answered.get(0)).toBeCloseTo(3, 9);
    expect(dispatched.get(2)).toBeCloseTo(3, 9);
  });

  it('adds the wire to every answer without occupying anything', () => {
    const { r } = run([{ atMs: 0, model: 'm' }, { atMs: 0, model: 'm' }], loop({ wire: { ms: 3 } }));
    // Compute 1 ms each, one after the other; the wire adds 3 ms to both.
    expect(r.stats.latencyMs!.min).toBeCloseTo(4, 2);
    expect(r.stats.latencyMs!.max).toBeCloseTo(5, 2);
  });
});

describe('waking an idle instance', () => {
  const m = model({
    latency: [{ batchSize: 1, ms: 0.1, p10Ms: 0.08, p90Ms: 0.2 }],
    idle: [{ afterMs: 2, ms: 0.5, p10Ms: 0.4, p90Ms: 0.9 }, { afterMs: 10, ms: 0.9, p10Ms: 0.7, p90Ms: 1.5 }],
  });

  it('costs nothing back to back, the measured time after a measured idle time, and is interpolated in between', () => {
    const c = new CostModel(m, false);
    const r = substream(1, 'idle');
    expect(c.serviceMs(1, r, 0)).toBeCloseTo(0.1, 9);
    expect(c.serviceMs(1, r, 1)).toBeCloseTo(0.1 + 0.4 / 2, 9);
    expect(c.serviceMs(1, r, 2)).toBeCloseTo(0.5, 9);
    expect(c.serviceMs(1, r, 6)).toBeCloseTo(0.7, 9);
    expect(c.serviceMs(1, r, Infinity)).toBeCloseTo(0.9, 9);
  });

  it('draws the wake-up from the measured spread, at the same quantile as the batch', () => {
    const c = new CostModel(m, true);
    const r = substream(2, 'idle');
    const xs = Array.from({ length: 20_000 }, () => c.serviceMs(1, r, 10)).sort((x, y) => x - y);
    expect(xs[Math.floor(0.5 * xs.length)]!).toBeCloseTo(0.9, 1);
    expect(xs[Math.floor(0.9 * xs.length)]!).toBeCloseTo(1.5, 1);
  });

  it('makes a model that waits between requests slower than one kept busy', () => {
    const arrivals = (gapMs: number): SimArrival[] => Array.from({ length: 50 }, (_, i) => ({ atMs: i * gapMs, model: 'm' }));
    const busy = run(arrivals(0.05), loop({}), [m]).r.stats.latencyMs!;
    const idle = run(arrivals(20), loop({}), [m]).r.stats.latencyMs!;
    expect(idle.p50).toBeCloseTo(0.9, 2);
    // Back to back, only the first batch woke the instance.
    expect(busy.min).toBeCloseTo(0.9, 2);
    expect(run(arrivals(0.05), loop({}), [m]).dispatched.size).toBe(50);
  });
});

describe('the tail a running server adds', () => {
  const tail = { over: [{ ms: 10, fraction: 0.01 }, { ms: 20, fraction: 0.002 }], maxMs: 50 };

  it('is nothing below its quantiles, then linear between its times up to the longest', () => {
    expect(tailMs(tail, 0.98)).toBe(0);
    expect(tailMs(tail, 0.99)).toBe(0);
    expect(tailMs(tail, 0.994)).toBeCloseTo(15, 9);
    expect(tailMs(tail, 0.998)).toBeCloseTo(20, 9);
    expect(tailMs(tail, 0.999)).toBeCloseTo(35, 9);
    expect(tailMs(tail, 1)).toBeCloseTo(50, 9);
  });

  it('makes that fraction of batches that long, and leaves the others as the profile says', () => {
    const c = new CostModel(model({ latency: [{ batchSize: 1, ms: 1, p10Ms: 0.9, p90Ms: 1.2, p99Ms: 2 }], tail }), true);
    const r = substream(5, 'tail');
    const xs = Array.from({ length: 100_000 }, () => c.serviceMs(1, r));
    expect(xs.filter((x) => x > 10).length / xs.length).toBeCloseTo(0.01, 2);
    expect(xs.filter((x) => x > 20).length / xs.length).toBeCloseTo(0.002, 3);
    expect(Math.max(...xs)).toBeLessThanOrEqual(50);
    // Without variation every batch takes the median: the tail is a spread too.
    expect(new CostModel(model({ tail }), false).serviceMs(1, r)).toBe(1);
  });

  it("is read off a server's histogram from a floor up", () => {
    const buckets = [{ le: 1, count: 900 }, { le: 5, count: 990 }, { le: 10, count: 996 }, { le: 20, count: 999 }, { le: 50, count: 1000 }, { le: Infinity, count: 1000 }];
    expect(tailFrom(buckets, 8)).toEqual({ over: [{ ms: 10, fraction: 0.004 }, { ms: 20, fraction: 0.001 }], maxMs: 50 });
    expect(tailFrom(buckets, 60)).toBeUndefined();
    expect(tailFrom([{ le: 10, count: 9 }, { le: Infinity, count: 10 }], 5)).toEqual({ over: [{ ms: 10, fraction: 0.1 }], maxMs: 20 });
  });

  it('is read from the one-row batches the one-client run dispatches, not from larger sizes it never runs', () => {
    const latency = [{ batchSize: 1, ms: 0.4, p99Ms: 0.6 }, { batchSize: 32, ms: 8, p99Ms: 10.3 }];
    expect(tailFloorMs({ latency })).toBe(0.6);
    expect(tailFloorMs({ latency, idle: [{ afterMs: 2, ms: 1, p99Ms: 4.4 }, { afterMs: 20, ms: 1.3 }] })).toBe(4.4);
    // Without a one-row point, the smallest size measured stands in for it.
    expect(tailFloorMs({ latency: [{ batchSize: 4, ms: 2 }, { batchSize: 2, ms: 1, p99Ms: 1.5 }] })).toBe(1.5);
    // With the 32-row p99 as the floor, the 10-to-50 ms batches of a server's one-row histogram disappear.
    const buckets = [{ le: 5, count: 990 }, { le: 10, count: 996 }, { le: 20, count: 999 }, { le: 50, count: 1000 }, { le: Infinity, count: 1000 }];
    expect(tailFrom(buckets, tailFloorMs({ latency }))?.over[0]).toEqual({ ms: 5, fraction: 0.01 });
    expect(tailFrom(buckets, 10.3)?.over[0]).toEqual({ ms: 20, fraction: 0.001 });
  });
});

describe('cores shared with the loop', () => {
  it('slows an instance to its share while the loop works, and gives it the core back when the loop is idle', () => {
    // One core: the first request computes from 2, alone for 0.2 ms, then the loop takes the
    // core for the second arrival (2.2 to 4.2) and the instance gets MIN_SHARE of it; the rest
    // of its 1 ms runs at full speed after 4.2.
    const arrivals: SimArrival[] = [{ atMs: 0, model: 'm' }, { atMs: 2.2, model: 'm' }];
    const shared = run(arrivals, loop({ requestMs: 2, cores: 1 }));
    expect(shared.answered.get(0)).toBeCloseTo(4.2 + (1 - 0.2 - 2 * MIN_SHARE), 9);
    // With a core to spare, or no cores given, the batch is done at 3 and answered when the loop is free.
    expect(run(arrivals, loop({ requestMs: 2, cores: 2 })).answered.get(0)).toBeCloseTo(4.2, 9);
    expect(run(arrivals, loop({ requestMs: 2 })).answered.get(0)).toBeCloseTo(4.2, 9);
  });

  it('keeps the instance slow while the loop is given more work, and stale completions are told apart', () => {
    let loopFreeAt = 0;
    const events: Array<{ t: number; kind: number }> = [];
    const cpu = new NodeCpus(1, 1, 0, () => loopFreeAt, (t, kind) => events.push({ t, kind }));
    cpu.start(0, 0, 0, 1, 0);
    expect(events.at(-1)).toEqual({ t: 1, kind: EVENT.computeDone });
    loopFreeAt = 2.5;
    cpu.loopStarted(0, 0.5);
    const slow = 0.5 + 0.5 / MIN_SHARE;
    expect(events.filter((e) => e.kind === EVENT.computeDone).at(-1)!.t).toBeCloseTo(slow, 9);
    // More work while busy: nobody is told, and the wake-up at 2.5 finds the loop still busy.
    loopFreeAt = 4;
    cpu.loopIdle(0, 2.5);
    expect(events.filter((e) => e.kind === EVENT.loopIdle).map((e) => e.t)).toEqual([2.5, 4]);
    expect(cpu.done(0, 0, 0, 1)).toBe(false);
    const last = events.filter((e) => e.kind === EVENT.computeDone).at(-1)!.t;
    expect(last).toBeCloseTo(slow, 9);
    expect(cpu.done(0, 0, 0, last)).toBe(true);
  });

  it("goes no faster than its measured contended speed while the loop works, and at the cores' share otherwise", () => {
    let loopFreeAt = 2;
    const done = (events: Array<{ t: number; kind: number }>) => events.filter((e) => e.kind === EVENT.computeDone).at(-1)!.t;
    // Two cores, the loop busy until 2: the even share would be a whole core, the measured speed is 0.1.
    const events: Array<{ t: number; kind: number }> = [];
    const cpu = new NodeCpus(1, 2, 0, () => loopFreeAt, (t, kind) => events.push({ t, kind }));
    cpu.start(0, 0, 0, 1, 0, 0.1);
    expect(done(events)).toBeCloseTo(10, 9);
    // The loop stops at 2 (0.2 done): the rest at full speed.
    cpu.loopIdle(0, 2);
    expect(done(events)).toBeCloseTo(2.8, 9);
    // A second batch, without a contended speed, beside the first: each gets its own speed.
    loopFreeAt = 3;
    cpu.loopStarted(0, 2.5);
    cpu.start(0, 1, 0, 1, 2.5);
    const byModel = (kind: number) => events.filter((e) => e.kind === kind);
    expect(byModel(EVENT.computeDone).at(-1)!.t).toBeCloseTo(2.5 + 1 / 0.5, 9);
    expect(cpu.done(0, 0, 0, 2.8)).toBe(false);
    expect(byModel(EVENT.computeDone).some((e) => Math.abs(e.t - (2.5 + 0.3 / 0.1)) < 1e-9)).toBe(true);
  });

  it('counts other work on the machine against the cores', () => {
    const arrivals: SimArrival[] = [{ atMs: 0, model: 'm' }];
    // Two cores, 1.5 busy elsewhere: half a core for the instance.
    expect(run(arrivals, loop({ cores: 2, background: 1.5 })).answered.get(0)).toBeCloseTo(2, 9);
  });

  it('is deterministic for a seed with every part of the node model on', () => {
    const w: Workload = { kind: 'open', process: { kind: 'poisson', ratePerS: 600 }, models: ['m', 'n'], popularity: { kind: 'uniform' }, durationMs: 3_000 };
    const node = loop({ requestMs: 0.1, answerMs: 0.3, afterMs: 0.3, wire: { ms: 1, p90Ms: 2, p99Ms: 9 }, cores: 2, background: 0.5 });
    const models = [
      model({ idle: [{ afterMs: 2, ms: 0.6, p90Ms: 1 }], contended: { afterMs: 1, ms: 1.2, p90Ms: 4, p99Ms: 12 } }),
      model({ name: 'n', latency: [{ batchSize: 1, ms: 0.3, p90Ms: 0.5 }] }),
    ];
    const go = (seed: number) => simulate({ models, arrivals: workloadArrivals(w, seed), nodes: 1, router: router('round-robin'), seed, node, window: { startMs: 0, endMs: 3_000 }, binMs: 1000 }).stats;
    expect(go(3)).toEqual(go(3));
    expect(go(4).latencyMs).not.toEqual(go(3).latencyMs);
  });
});

describe('calibration from the measured runs', () => {
  it("splits the one-client round trip into the loop, the batch and the wire, and the loop's CPU per request beyond both passes into what follows the answer", () => {
    const node = calibrateNode({
      roundTrip: [{ q: 0, ms: 1 }, { q: 1, ms: 1 }], roundTripMeanMs: 1, arrivalPassMs: 0.1, batchMs: 0.3, clientMs: 0.2, loopMs: 0.7,
      lateness: { p50: 0.5, p99: 2, max: 5 }, cores: 2, backgroundCores: 0.25,
    }, substream(1, 'calibrate'));
    expect(node.requestMs).toBeCloseTo(0.1, 9);
    expect(node.answerMs).toBeCloseTo(1 - 0.2 - 0.1 - 0.3, 9);
    expect(node.afterMs).toBeCloseTo(0.7 - 0.1 - 0.4, 9);
    // The wire: the client's 0.2 ms plus the generator's lateness, whose median is 0.5.
    expect(node.wire!.ms).toBeCloseTo(0.7, 1);
    expect(node).toMatchObject({ cores: 2, background: 0.25 });
  });

  it('keeps the answer pass within the loop\'s CPU per request, and gives the rest of the round trip to the wire, which delays one request and occupies nothing', () => {
    // The round trip leaves 0.4 ms after the client, the arrival pass and the batch, but the loop spends only 0.3 ms of CPU per request.
    const node = calibrateNode({
      roundTrip: [{ q: 0, ms: 1 }, { q: 1, ms: 1 }], roundTripMeanMs: 1, arrivalPassMs: 0.1, batchMs: 0.3, clientMs: 0.2, loopMs: 0.3,
    }, substream(1, 'calibrate'));
    expect(node.answerMs).toBeCloseTo(0.2, 9);
    expect(node.afterMs).toBe(0);
    // The client's 0.2 ms and the 0.2 ms the loop does not spend.
    expect(node.wire!.ms).toBeCloseTo(0.4, 9);
    // The one-client round trip is still the sum of its parts.
    expect(node.requestMs + node.answerMs + 0.3 + node.wire!.ms).toBeCloseTo(1, 9);
  });

  it("leaves the models' own decoding and encoding, from the profile, out of the node's share", () => {
    const base = { roundTrip: [{ q: 0, ms: 1 }, { q: 1, ms: 1 }], roundTripMeanMs: 1, arrivalPassMs: 0.1, batchMs: 0.3, clientMs: 0.2, loopMs: 0.7 };
    const node = calibrateNode({ ...base, ownRequestMs: 0.04, ownAnswerMs: 0.1 }, substream(1, 'calibrate'));
    expect(node.requestMs).toBeCloseTo(0.06, 9);
    expect(node.answerMs).toBeCloseTo(0.4 - 0.1, 9);
    expect(node.afterMs).toBeCloseTo(0.7 - 0.1 - 0.4, 9);
  });

  it('reads timer lateness as even over about a millisecond, then its reported tail', () => {
    const l = latenessSpread({ p50: 0.6, p99: 3, max: 12 });
    expect(quantile(l, 0.5)).toBeCloseTo(0.6, 9);
    expect(quantile(l, 0.9)).toBeCloseTo(1.08, 9);
    expect(quantile(l, 0.99)).toBeCloseTo(3, 9);
    expect(quantile(l, 1)).toBeCloseTo(12, 9);
  });
});
