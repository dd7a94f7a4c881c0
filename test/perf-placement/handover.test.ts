/**
 * How a batch's inputs reach the session's worker thread (RunOptions.inputsMovable): moved when
 * the caller gives them up, copied when it keeps them. Real onnxruntime on a worker thread, the
 * example add_sub model, and both inputs viewing one buffer, as a binary request's body does.
 */
import { describe, expect, it } from 'vitest';
import type { RunTiming } from '../../src/backends/backend.js';
import type { Tensor } from '../../src/core/tensor.js';
import { addSubOnWorker } from '../support/add-sub-session.js';

const session = addSubOnWorker();

/** Two rows of INPUT0 and INPUT1 laid one after the other in a single buffer, after a 64-byte "header". */
function bodyLike(): { memory: ArrayBuffer; inputs: Tensor[] } {
  const memory = new ArrayBuffer(64 + 2 * 2 * 16 * 4);
  const a = new Float32Array(memory, 64, 32);
  const b = new Float32Array(memory, 64 + 128, 32);
  for (let i = 0; i < 32; i++) {
    a[i] = i;
    b[i] = 100 - i;
  }
  return { memory, inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [2, 16], data: a }, { name: 'INPUT1', datatype: 'FP32', shape: [2, 16], data: b }] };
}

async function sums(inputs: Tensor[], inputsMovable?: boolean): Promise<number[]> {
  const [sum, diff] = await session().run(inputs, ['OUTPUT0', 'OUTPUT1'], inputsMovable === undefined ? undefined : { inputsMovable });
  expect(Array.from(diff!.data as Float32Array)).toEqual(Array.from({ length: 32 }, (_, i) => 2 * i - 100));
  return Array.from(sum!.data as Float32Array);
}

describe('handing a batch to the worker thread', () => {
  it('copies the inputs by default: the caller can still read and reuse them', async () => {
    const { memory, inputs } = bodyLike();
    expect(await sums(inputs)).toEqual(new Array(32).fill(100));
    expect(memory.byteLength).toBeGreaterThan(0);
    expect(await sums(inputs, false)).toEqual(new Array(32).fill(100));
    expect((inputs[0]!.data as Float32Array)[5]).toBe(5);
  });

  it('moves inputs the caller gives up: one buffer shared by both inputs goes across once, uncopied', async () => {
    const { memory, inputs } = bodyLike();
    expect(await sums(inputs, true)).toEqual(new Array(32).fill(100));
    // Transferred, so detached here: nothing was copied, and nothing here can read it any more.
    expect(memory.byteLength).toBe(0);
  });

  it('says how long the hand-off and the run took, and the two fit in the time the caller waited', async () => {
    for (let k = 0; k < 5; k++) {
      let timing: RunTiming | undefined;
      const began = performance.now();
      const [sum] = await session().run(bodyLike().inputs, ['OUTPUT0'], { timing: (t) => (timing = t) });
      const waited = performance.now() - began;
      expect(Array.from(sum!.data as Float32Array)).toEqual(new Array(32).fill(100));
      expect(timing).toBeDefined();
      expect(timing!.inferMs).toBeGreaterThan(0);
      expect(timing!.handOffMs).toBeGreaterThanOrEqual(0);
      // The two threads' clocks agree to well under a millisecond; the way back is the rest.
      expect(timing!.handOffMs + timing!.inferMs).toBeLessThanOrEqual(waited + 0.05);
    }
  });
});
