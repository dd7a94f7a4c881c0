/**
 * The simulator and the live ModelScheduler make the same decisions for the same events:
 * the same arrivals (with priorities, timeouts and deadlines) and the same service times give
 * the same batches on the same instances at the same times, and the same refusals.
 * The live scheduler runs on fake timers, with a runner whose batches finish after the
 * given service time; times are whole numbers because fake timers round delays down.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { substream } from '../../src/bench/random.js';
import type { ShoalError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import { router } from '../../src/routing/router.js';
import { type BatchRunner, ModelScheduler } from '../../src/scheduling/model-scheduler.js';
import { LatencyProfile } from '../../src/scheduling/profile.js';
import { NO_LIMITS, type QueueRules } from '../../src/scheduling/rules.js';
import type { ModelCost } from '../../src/sim/cost-model.js';
import { type SimArrival, simulate } from '../../src/sim/simulate.js';

type Decision = { t: number; instance: number; ids: number[] };
/** When each request was answered, and why not when it was refused. */
type Answer = { t: number; id: number; refused?: string };

const rules: QueueRules = {
  priorityLevels: 2, defaultLevel: 2, defaultRules: { ...NO_LIMITS, timeoutMs: 60_000, maxQueueSize: 10 },
  levelRules: { 1: { ...NO_LIMITS, maxQueueSize: 6 } }, defaultDeadlineMs: 0, maxQueueSize: 14,
};
const cost = (rows: number): number => 7_000 + 1_500 * rows;
const model = (preserveOrdering: boolean): ModelCost => ({
  name: 'm', instances: 2, rules, loadMs: 0, footprintBytes: 0, overheadMs: 0,
  batching: { maxBatchSize: 8, dynamic: { preferredBatchSizes: [4, 8], maxQueueDelayMs: 3_000, preserveOrdering } },
  latency: [{ batchSize: 1, ms: cost(1) }, { batchSize: 8, ms: cost(8) }],
});

/** Bursty arrivals that overload two instances now and then, with mixed priorities, timeouts and deadlines. */
function arrivals(n: number, seed: number): SimArrival[] {
  const r = substream(seed, 'equivalence');
  const out: SimArrival[] = [];
  let t = 1;
  for (let i = 0; i < n; i++) {
    t += Math.floor(r() < 0.3 ? r() * 300 : r() * 6_000) + 1;
    const a: SimArrival = { atMs: t, model: 'm', batchSize: 1 + Math.floor(r() * 3), priority: r() < 0.3 ? 1 : 2 };
    if (r() < 0.4) a.deadlineMicroseconds = (15_000 + Math.floor(r() * 40_000)) * 1000;
    if (r() < 0.2) a.timeoutMicroseconds = (2_000 + Math.floor(r() * 20_000)) * 1000;
    out.push(a);
  }
  return out;
}

async function live(m: ModelCost, input: SimArrival[]): Promise<{ dispatches: Decision[]; answers: Answer[] }> {
  vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  const dispatches: Decision[] = [];
  const answers: Answer[] = [];
  const runner = (instance: number): BatchRunner => ({
    run(inputs: Tensor[]): Promise<Tensor[]> {
      const ids = [...(inputs[0]!.data as Float32Array)];
      dispatches.push({ t: Date.now(), instance, ids: [...new Set(ids)] });
      return new Promise((resolve) => setTimeout(() => resolve(inputs), cost(ids.length)));
    },
  });
  const s = new ModelScheduler([runner(0), runner(1)], {
    outputNames: ['x'], batching: m.batching, rules, clock: { now: () => Date.now() },
    profile: LatencyProfile.from(m.latency.map((p) => ({ rows: p.batchSize, ms: p.ms, samples: 1 }))),
  });
  input.forEach((a, id) => setTimeout(() => {
    const rows = a.batchSize ?? 1;
    const tensor: Tensor = { name: 'x', datatype: 'FP32', shape: [rows], data: new Float32Array(rows).fill(id) };
    s.submit({ inputs: [tensor], batchSize: rows, shapeKey: 'x', priority: a.priority, timeoutMicroseconds: a.timeoutMicroseconds, deadlineMicroseconds: a.deadlineMicroseconds })
      .then(() => answers.push({ t: Date.now(), id }), (e: ShoalError) => answers.push({ t: Date.now(), id, refused: e.reason ?? e.kind }));
  }, a.atMs));
  await vi.runAllTimersAsync();
  await s.whenIdle();
  vi.useRealTimers();
  return { dispatches, answers };
}

function simulated(m: ModelCost, input: SimArrival[]): { dispatches: Decision[]; answers: Answer[] } {
  const dispatches: Decision[] = [];
  const answers: Answer[] = [];
  const r = simulate({
    models: [m], arrivals: input, nodes: 1, router: router('round-robin'), seed: 1, variation: false,
    window: { startMs: 0, endMs: Infinity }, binMs: 1000, serviceMs: (_model, rows) => cost(rows),
    trace: {
      dispatch: (t, _node, _model, instance, ids) => dispatches.push({ t, instance, ids }),
      answer: (t, id, refusal) => answers.push(refusal ? { t, id, refused: refusal.reason } : { t, id }),
    },
  });
  expect(r.stats.ok + r.stats.errorCount).toBe(input.length);
  return { dispatches, answers };
}

const byTime = (a: Answer, b: Answer): number => a.t - b.t || a.id - b.id;

describe('the simulator decides as the live scheduler does', () => {
  afterEach(() => vi.useRealTimers());

  for (const [seed, preserveOrdering] of [[1, false], [2, false], [3, true]] as const) {
    it(`seed ${seed}${preserveOrdering ? ', preserve_ordering' : ''}: same batches, instances, times and refusals`, async () => {
      const input = arrivals(400, seed);
      const m = model(preserveOrdering);
      const real = await live(m, input);
      const sim = simulated(m, input);
      expect(real.answers.length).toBe(input.length);
      // The case is not trivial: batches form, and several kinds of refusal happen.
      expect(real.dispatches.some((d) => d.ids.length > 1)).toBe(true);
      expect(new Set(real.answers.map((a) => a.refused)).size).toBeGreaterThanOrEqual(3);
      expect(sim.dispatches).toEqual(real.dispatches);
      expect(sim.answers.sort(byTime)).toEqual(real.answers.sort(byTime));
    });
  }
});
