import type { RunTiming } from '../backends/backend.js';

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
