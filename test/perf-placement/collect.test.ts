/**
 * Results a session's worker thread has posted, delivered while the event loop is still busy
 * (BackendSession.collect): a loop turn that serves many sockets otherwise reaches the worker's
 * message only at its end, and the instance waits idle until then. Real onnxruntime on a worker
 * thread (the example add_sub model); the loop is kept busy by spinning, as a long turn would.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { Tensor } from '../../src/core/tensor.js';
import { ModelScheduler } from '../../src/scheduling/model-scheduler.js';
import { addSubOnWorker } from '../support/add-sub-session.js';

const session = addSubOnWorker();

const rows = (v: number): Tensor[] => [
  { name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(v) },
  { name: 'INPUT1', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(1) },
];

/** Keeps the event loop from turning for `ms`, calling `each` meanwhile, until it says stop. */
function busy(ms: number, each: () => boolean = () => false): void {
  const until = performance.now() + ms;
  while (performance.now() < until) if (each()) return;
}

/** Lets the microtasks queued so far (and those they queue) run, without a turn of the event loop. */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

describe('collecting finished runs while the event loop is busy', () => {
  it('without collect a busy loop does not see the result; collect delivers it at once', async () => {
    const s = session();
    let seen = false;
    const first = s.run(rows(1), ['OUTPUT0', 'OUTPUT1'], { timing: () => (seen = true) });
    busy(300);
    await microtasks();
    expect(seen).toBe(false);
    await first;
    expect(seen).toBe(true);

    let delivered = false;
    const second = s.run(rows(2), ['OUTPUT0', 'OUTPUT1'], { timing: () => (delivered = true) });
    busy(10_000, () => {
      s.collect!();
      return delivered;
    });
    expect(delivered).toBe(true);
    const [sum] = await second;
    expect(Array.from(sum!.data as Float32Array)).toEqual(new Array(16).fill(3));
  });

  it('a request that arrives while the loop is busy hands the freed instance its batch before the loop turns', async () => {
    const scheduler = new ModelScheduler([session()], { outputNames: ['OUTPUT0', 'OUTPUT1'], batching: { maxBatchSize: 0 }, clock: systemClock });
    const job = (v: number) => ({ inputs: rows(v), batchSize: 1, shapeKey: '1x16' });
    const first = scheduler.submit(job(1));
    const second = scheduler.submit(job(2));
    // The one instance runs the first; the second waits.
    expect(scheduler.queueDepth).toBe(1);
    // Long enough for the worker to have finished the first (it takes well under a millisecond).
    busy(300);
    // Arrives during the same busy spell: its submit collects the first's result, whose
    // continuation (in microtasks, not a loop turn) frees the instance and dispatches the second.
    const third = scheduler.submit(job(3));
    await microtasks();
    expect(scheduler.queueDepth).toBe(1);
    const results = await Promise.all([first, second, third]);
    expect(results.map((r) => (r.outputs[0]!.data as Float32Array)[0])).toEqual([2, 3, 4]);
  });
});
