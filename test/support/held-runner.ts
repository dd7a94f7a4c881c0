import type { Tensor } from '../../src/core/tensor.js';
import type { BatchRunner } from '../../src/scheduling/model-scheduler.js';

/** A one-element FP32 tensor `x` holding `v`, to tell batches apart. */
export const tensor = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1], data: Float32Array.of(v) });

/**
 * A BatchRunner for driving the live schedulers step by step: it records each batch's first
 * value and echoes the inputs, but a batch finishes only when the test calls `finishOne`.
 */
export class HeldRunner implements BatchRunner {
  runs: number[] = [];
  private release: Array<() => void> = [];
  run(inputs: Tensor[]): Promise<Tensor[]> {
    this.runs.push((inputs[0]!.data as Float32Array)[0]!);
    return new Promise((resolve) => this.release.push(() => resolve(inputs)));
  }
  finishOne(): void {
    this.release.shift()?.();
  }
}

/** Lets pending callbacks and promise reactions run. */
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
