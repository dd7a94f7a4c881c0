import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelBuilder } from '../../src/onnx/builder.js';

/** Input width of every sized model. */
export const SIZED_INPUT = 16;

/**
 * A model of a chosen size whose answer says which model gave it: MatMul by a [16, cols]
 * weight filled with `tag / cols`, then a sum over the columns, so that y = tag × sum(x) for
 * every row. The weight (16 × cols × 4 bytes) is what makes it `bytes` large, and the graph
 * uses all of it, so onnxruntime cannot prune it away.
 */
export function sizedModel(tag: number, bytes: number): Uint8Array {
  const cols = Math.max(1, Math.round(bytes / (SIZED_INPUT * 4)));
  const b = new ModelBuilder(`sized_${tag}`, `MatMul(${SIZED_INPUT}→${cols}) + ReduceSum: y = ${tag} × sum(x)`);
  b.input('x', 'FP32', ['batch', SIZED_INPUT]);
  const w = b.initializer('w', 'FP32', [SIZED_INPUT, cols], new Float32Array(SIZED_INPUT * cols).fill(tag / cols));
  const mm = b.op('MatMul', ['x', w]);
  b.node('ReduceSum', [mm, b.initializer('axes', 'INT64', [1], [1])], ['y'], {});
  b.output('y', 'FP32', ['batch', 1]);
  return b.toBytes();
}

/** The answer sizedModel(tag, …) gives for one row. */
export const sizedAnswer = (tag: number, row: readonly number[]): number => tag * row.reduce((a, b) => a + b, 0);

/**
 * Writes `<dir>/<name>/1/model.onnx` and a config (batching up to 8) for each model. The config
 * declares the inputs and outputs, so metadata answers before a model is loaded. `sloMs`: every
 * model's `slo.default_deadline_microseconds`, the deadline of requests that bring none, which
 * is how an operator tells shoal the latency its clients need (admission then refuses early
 * what cannot be answered in time, and a request waits for its model's load only that long).
 */
export async function writeSizedRepository(dir: string, models: ReadonlyArray<{ name: string; tag: number; bytes: number; config?: string }>, opts: { sloMs?: number } = {}): Promise<void> {
  const slo = opts.sloMs ? `slo: { default_deadline_microseconds: ${Math.round(opts.sloMs * 1000)} }\n` : '';
  for (const m of models) {
    await mkdir(path.join(dir, m.name, '1'), { recursive: true });
    await writeFile(path.join(dir, m.name, '1', 'model.onnx'), sizedModel(m.tag, m.bytes));
    await writeFile(path.join(dir, m.name, 'config.yaml'), `max_batch_size: 8\ninput: [{ name: x, data_type: TYPE_FP32, dims: [${SIZED_INPUT}] }]\noutput: [{ name: y, data_type: TYPE_FP32, dims: [1] }]\n${slo}${m.config ?? ''}`);
  }
}
