import type { RunOptions, RunTiming } from '../backends/backend.js';
import type { Clock } from '../core/clock.js';
import type { Tensor } from '../core/tensor.js';

/**
 * A batch's compute time in Triton's three parts, as its statistics extension reports them:
 * compute_input (joining the requests' inputs, then handing them to the thread that runs the
 * model, and its wait for a core), compute_infer (the model's own run) and compute_output (from
 * the run's end until the scheduler has the outputs: the way back, which waits for the event
 * loop). On a busy server the first and last grow while the second does not; one figure for
 * all three hid that the loop, not the model, was what kept an instance idle.
 */
export interface ComputeSplit {
  inputMs: number;
  inferMs: number;
  outputMs: number;
}

/**
 * @param totalMs the whole span the scheduler saw, from taking the batch to having its outputs
 * @param joinMs the part of it spent joining the inputs, before the backend was called
 * @param run what the backend said of its run; absent (a run on the event loop itself, which
 *   hands nothing off): the rest of the span is the model's
 */
export function splitCompute(totalMs: number, joinMs: number, run?: RunTiming): ComputeSplit {
  const total = Math.max(0, totalMs);
  const inputMs = Math.min(total, Math.max(0, joinMs) + (run ? Math.max(0, run.handOffMs) : 0));
  if (!run) return { inputMs, inferMs: total - inputMs, outputMs: 0 };
  const inferMs = Math.min(total - inputMs, Math.max(0, run.inferMs));
  return { inputMs, inferMs, outputMs: total - inputMs - inferMs };
}

/**
 * Runs a batch whose time began at `start` (before its inputs were joined) and says how long it
 * took, whole and in parts: what both schedulers do with every batch.
 */
export async function timedRun(
  runner: { run(inputs: Tensor[], outputNames: string[], opts?: RunOptions): Promise<Tensor[]> },
  inputs: Tensor[], outputNames: string[], opts: RunOptions, clock: Clock, start: number,
): Promise<{ outputs: Tensor[]; end: number; computeMs: number; compute: ComputeSplit }> {
  const joined = clock.now();
  let run: RunTiming | undefined;
  const outputs = await runner.run(inputs, outputNames, { ...opts, timing: (t) => (run = t) });
  const end = clock.now();
  return { outputs, end, computeMs: end - start, compute: splitCompute(end - start, joined - start, run) };
}
