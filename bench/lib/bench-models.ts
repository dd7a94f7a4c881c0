/**
 * The model repository shoal serves during the bench. The example `identity` model has one
 * input per datatype and onnxruntime wants every one of them fed, so a request with a single
 * FP32 tensor is refused; the round trip therefore uses a one-input FP32 Identity model built
 * here, next to the example `cnn` copied as it is.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelBuilder } from '../../src/onnx/builder.js';

export const IDENTITY_MODEL = 'identity_fp32';
export const CNN_MODEL = 'cnn';

const IDENTITY_CONFIG = `# Written by bench/lib/bench-models.ts for each bench run.
name: ${IDENTITY_MODEL}
backend: onnxruntime
max_batch_size: 0
input:
  - { name: INPUT_FP32, data_type: TYPE_FP32, dims: [-1] }
output:
  - { name: OUTPUT_FP32, data_type: TYPE_FP32, dims: [-1] }
`;

/** Rebuilds `out` from scratch, so a stale model never serves a run. */
export function prepareBenchRepository(examples: string, out: string): void {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(path.join(out, IDENTITY_MODEL, '1'), { recursive: true });
  const b = new ModelBuilder(IDENTITY_MODEL, 'OUTPUT_FP32 = INPUT_FP32');
  b.input('INPUT_FP32', 'FP32', ['n']);
  b.node('Identity', ['INPUT_FP32'], ['OUTPUT_FP32']);
  b.output('OUTPUT_FP32', 'FP32', ['n']);
  writeFileSync(path.join(out, IDENTITY_MODEL, '1', 'model.onnx'), b.toBytes());
  writeFileSync(path.join(out, IDENTITY_MODEL, 'config.yaml'), IDENTITY_CONFIG);
  cpSync(path.join(examples, CNN_MODEL), path.join(out, CNN_MODEL), { recursive: true });
}
