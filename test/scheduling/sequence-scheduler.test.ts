/**
 * SequenceScheduler carrying sequences out: implicit state gathered along the state's batch
 * axis and scattered back, requests of different sequences batched together (never two of one
 * sequence), constants fed, refusals, failures that leave state alone, and expiry on a virtual clock.
 *
 * The runner is a small stateful computation written out in JS (a running sum, with the batch
 * at axis 1 of the state as in Silero VAD), so that any mix-up of rows or sequences shows in
 * the answers; test/e2e/sequence.test.ts runs the real Silero model.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import type { ShoalError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import type { BatchRunner, Job } from '../../src/scheduling/model-scheduler.js';
import type { SequenceControl } from '../../src/scheduling/sequence.js';
import { SequenceScheduler } from '../../src/scheduling/sequence-scheduler.js';

/** x [N, 2], state [2, N, 2], k []: stateN[j, n] = state[j, n] + (j + 1)·x[n]; y[n] = k·stateN[0, n] + stateN[1, n]. */
class Accumulator implements BatchRunner {
  batches: number[][] = [];
  failNext = false;
  private held: Array<() => void> = [];
  hold = false;

  run(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    const get = (name: string) => inputs.find((t) => t.name === name)!;
    const x = get('x').data as Float32Array;
    const state = get('state');
    const k = (get('k').data as Float32Array)[0]!;
    const n = get('x').shape[0]!;
    expect(state.shape).toEqual([2, n, 2]);
    this.batches.push([...x].filter((_, i) => i % 2 === 0));
    const s = state.data as Float32Array;
    const next = new Float32Array(4 * n);
    const y = new Float32Array(2 * n);
    for (let j = 0; j < 2; j++) {
      for (let r = 0; r < n; r++) for (let c = 0; c < 2; c++) next[(j * n + r) * 2 + c] = s[(j * n + r) * 2 + c]! + (j + 1) * x[r * 2 + c]!;
    }
    for (let r = 0; r < n; r++) for (let c = 0; c < 2; c++) y[r * 2 + c] = k * next[r * 2 + c]! + next[(n + r) * 2 + c]!;
    const out: Record<string, Tensor> = {
      y: { name: 'y', datatype: 'FP32', shape: [n, 2], data: y },
      stateN: { name: 'stateN', datatype: 'FP32', shape: [2, n, 2], data: next },
    };
    const fail = this.failNext;
    this.failNext = false;
    return new Promise((resolve, reject) => {
      const go = () => (fail ? reject(new Error('backend fault')) : resolve(outputNames.map((name) => out[name]!)));
      if (this.hold) this.held.push(go);
      else go();
    });
  }

  releaseAll(): void {
    const held = this.held;
    this.held = [];
    for (const go of held) go();
  }
}

/** The same computation for one sequence alone: the expected answers. */
function alone(xs: number[], k = 3): number[] {
  const state = [[0, 0], [0, 0]];
  return xs.map((v) => {
    state[0] = state[0]!.map((s) => s + v);
    state[1] = state[1]!.map((s) => s + 2 * v);
    return k * state[0][0]! + state[1][0]!;
  });
}

const job = (id: number | string, v: number, flags: Partial<SequenceControl> = {}): Job => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(v, v) }],
  batchSize: 1,
  shapeKey: 'x',
  sequence: { id, start: false, end: false, ...flags },
});

function scheduler(runner: Accumulator, clock = new VirtualClock(), more: { maxSequences?: number; maxBatchSize?: number } = {}) {
  return new SequenceScheduler([runner], {
    outputNames: ['y', 'stateN'],
    batching: { maxBatchSize: more.maxBatchSize ?? 8, dynamic: { preferredBatchSizes: [], maxQueueDelayMs: 0 } },
    states: [{ input: 'state', output: 'stateN', datatype: 'FP32', shape: [2, 1, 2], batchAxis: 1 }],
    constants: [{ name: 'k', datatype: 'FP32', shape: [], data: Float32Array.of(3) }],
    limits: { maxSequences: more.maxSequences ?? 8, idleMs: 100 },
    maxQueueSize: 0,
    clock,
  });
}

const value = async (p: Promise<{ outputs: Tensor[] }>) => ((await p).outputs[0]!.data as Float32Array)[0]!;
const error = async (p: Promise<unknown>) => (await p.catch((e: unknown) => e)) as ShoalError;

describe('SequenceScheduler', () => {
  it('batches requests of different sequences, one per sequence, and answers each as if it ran alone', async () => {
    const runner = new Accumulator();
    const s = scheduler(runner);
    runner.hold = true;
    const streams: Record<string, number[]> = { a: [1, 2, 3, 4], b: [10, 20, 30], c: [100, 200] };
    // Everything is submitted up front while the runner is held: the scheduler alone keeps each sequence in order.
    const answers = Object.fromEntries(Object.entries(streams).map(([id, xs]) => [id, xs.map((v, t) =>
      value(s.submit(job(id, v, { start: t === 0, end: t === xs.length - 1 }))))]));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      runner.releaseAll();
    }
    for (const [id, xs] of Object.entries(streams)) expect(await Promise.all(answers[id]!), id).toEqual(alone(xs));
    // The first batch ran a alone (it came first); then a, b and c together; then a and b; then a.
    expect(runner.batches).toEqual([[1], [2, 10, 100], [3, 20, 200], [4, 30]]);
    expect(s.liveSequences).toBe(0);
  });

  it('refuses requests without a sequence, with more than one row, and starts beyond the limit', async () => {
    const s = scheduler(new Accumulator(), new VirtualClock(), { maxSequences: 1 });
    expect(await error(s.submit({ ...job(1, 1), sequence: undefined } as Job))).toMatchObject({ kind: 'invalid_argument', message: expect.stringContaining('sequence_id') });
    expect(await error(s.submit({ ...job(1, 1, { start: true }), batchSize: 2 }))).toMatchObject({ kind: 'invalid_argument', message: expect.stringContaining('batch size 1') });
    await s.submit(job(1, 1, { start: true }));
    const full = await error(s.submit(job(2, 1, { start: true })));
    expect(full).toMatchObject({ kind: 'overloaded', reason: 'sequence_limit', retryAfterSeconds: 1 });
    expect(await error(s.submit(job(1, 1, { start: true })))).toMatchObject({ kind: 'invalid_argument', reason: 'sequence_live' });
  });

  it('keeps the state as it was when a batch fails, and frees a sequence at its end', async () => {
    const runner = new Accumulator();
    const s = scheduler(runner);
    await s.submit(job('x', 1, { start: true }));
    runner.failNext = true;
    expect(await error(s.submit(job('x', 5)))).toMatchObject({ kind: 'internal', message: 'backend fault' });
    expect(await value(s.submit(job('x', 2, { end: true })))).toBe(alone([1, 2])[1]);
    expect(s.liveSequences).toBe(0);
    expect(await error(s.submit(job('x', 3)))).toMatchObject({ reason: 'sequence_finished' });
  });

  it('expires a sequence left idle, measured on the injected clock', async () => {
    const clock = new VirtualClock();
    const s = scheduler(new Accumulator(), clock);
    await s.submit(job(9, 1, { start: true }));
    clock.advance(99);
    await s.submit(job(9, 1));
    clock.advance(100);
    expect(await error(s.submit(job(9, 1)))).toMatchObject({ kind: 'invalid_argument', reason: 'sequence_expired', message: expect.stringContaining('sequence 9 expired') });
    expect(s.liveSequences).toBe(0);
  });

  it('never puts more rows in a batch than max_batch_size', async () => {
    const runner = new Accumulator();
    const s = scheduler(runner, new VirtualClock(), { maxBatchSize: 2 });
    runner.hold = true;
    const all = [1, 2, 3, 4, 5].map((id) => value(s.submit(job(id, id, { start: true, end: true }))));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      runner.releaseAll();
    }
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5].map((v) => alone([v])[0]));
    expect(runner.batches).toEqual([[1], [2, 3], [4, 5]]);
  });
});
