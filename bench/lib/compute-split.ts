/**
 * Where a model's batches spent their compute time over a load, from the server's statistics
 * extension (Triton's compute_input, compute_infer and compute_output; src/scheduling/compute-split.ts
 * says what each holds): read before and after, and the difference shared out per batch. On a
 * busy server the hand-off parts grow while the model's own run does not, which says that the
 * event loop, not the model, kept the instances waiting.
 */
import type { ModelStatistics } from '../../src/core/service.js';
import { endpoint, fetchModelStats } from '../../src/bench/target.js';

export interface BatchSplit {
  batches: number;
  /** Mean rows per batch. */
  rows: number;
  /** Mean ms per batch of each part. */
  inputMs: number;
  inferMs: number;
  outputMs: number;
}

type Totals = { batches: number; rows: number; input: number; infer: number; output: number };

function totals(s: ModelStatistics): Totals {
  const t: Totals = { batches: 0, rows: 0, input: 0, infer: 0, output: 0 };
  for (const b of s.batch_stats) {
    t.batches += b.compute_infer.count;
    t.rows += b.batch_size * b.compute_infer.count;
    t.input += b.compute_input.ns;
    t.infer += b.compute_infer.ns;
    t.output += b.compute_output.ns;
  }
  return t;
}

/** The batches between two readings of one model version's statistics; undefined when none ran. */
export function splitBetween(before: ModelStatistics, after: ModelStatistics): BatchSplit | undefined {
  const a = totals(before);
  const b = totals(after);
  const batches = b.batches - a.batches;
  if (batches <= 0) return undefined;
  const per = (x: number) => x / 1e6 / batches;
  return { batches, rows: (b.rows - a.rows) / batches, inputMs: per(b.input - a.input), inferMs: per(b.infer - a.infer), outputMs: per(b.output - a.output) };
}

/** Runs `run` and says how `model`'s batches split their compute time meanwhile (undefined if the server did not say). */
export async function splitDuring<T>(url: string, model: string, run: () => Promise<T>): Promise<{ result: T; split?: BatchSplit }> {
  const e = endpoint(url);
  const before = await fetchModelStats(e, model);
  const result = await run();
  const after = await fetchModelStats(e, model);
  const split = before && after ? splitBetween(before, after) : undefined;
  return split ? { result, split } : { result };
}

/** One line for a report. */
export function describeSplit(s: BatchSplit): string {
  const f = (x: number) => `${x.toFixed(2)} ms`;
  return `${s.batches} batches of ${s.rows.toFixed(1)} rows on average, each ${f(s.inputMs)} compute_input (joining the inputs, handing them to the session thread, its wait for a core), `
    + `${f(s.inferMs)} compute_infer (onnxruntime's run) and ${f(s.outputMs)} compute_output (back to the event loop, and its wait for it)`;
}
