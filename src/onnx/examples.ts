import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import type { DataType } from '../core/datatype.js';
import { addSub } from './examples/add-sub.js';
import { cnn } from './examples/cnn.js';
import type { ExampleConfig, ExampleTensor, GeneratedExample } from './examples/example.js';
import { identity, identityFp32 } from './examples/identity.js';
import { mlp } from './examples/mlp.js';
import { PRETRAINED, SEQUENCE_EXAMPLE, copyPretrained } from './examples/pretrained.js';
import { textEncoder } from './examples/text-encoder.js';

export type { ExampleConfig, ExampleTensor, GeneratedExample } from './examples/example.js';
export { PRETRAINED, SEQUENCE_EXAMPLE, pretrainedPath, type PretrainedExample } from './examples/pretrained.js';

/** Models generated from code, in the order they are written. */
export const GENERATED: readonly GeneratedExample[] = [addSub, identity, identityFp32, mlp, cnn, textEncoder];

export const DEFAULT_SEED = 42;

export interface ExampleOptions {
  /** Seeds every generated weight; the same seed writes byte-identical files. */
  seed?: number;
  /** Also copy the pretrained OCR and VAD models from node_modules (default true). */
  includePretrained?: boolean;
}

/**
 * Writes the example model repository: `dir/<model>/1/model.onnx`, plus `dir/<model>/config.yaml`
 * for generated models. Existing files of the same names are overwritten; nothing else in `dir`
 * is touched. Returns the names of the models written.
 */
export async function writeExampleRepository(dir: string, opts: ExampleOptions = {}): Promise<string[]> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const written: string[] = [];
  for (const example of GENERATED) {
    const version = join(dir, example.name, '1');
    await mkdir(version, { recursive: true });
    await writeFile(join(version, 'model.onnx'), example.build(seed));
    await writeFile(join(dir, example.name, 'config.yaml'), configYaml(example.name, example.config));
    written.push(example.name);
  }
  if (opts.includePretrained ?? true) {
    for (const model of PRETRAINED) {
      const version = join(dir, model.name, '1');
      await mkdir(version, { recursive: true });
      await copyPretrained(model, join(version, 'model.onnx'));
      written.push(model.name);
    }
    const stream = SEQUENCE_EXAMPLE;
    await mkdir(join(dir, stream.name, '1'), { recursive: true });
    await copyPretrained(stream.model, join(dir, stream.name, '1', 'model.onnx'));
    await writeFile(join(dir, stream.name, 'config.yaml'), stream.config);
    written.push(stream.name);
  }
  return written;
}

/** Triton spells the BYTES datatype TYPE_STRING in model configs; the rest is a prefix. */
export function tritonDataType(dt: DataType): string {
  return dt === 'BYTES' ? 'TYPE_STRING' : `TYPE_${dt}`;
}

/** A model config in Triton's vocabulary (model_config.proto field names), as YAML. */
export function configYaml(name: string, config: ExampleConfig): string {
  const tensor = (t: ExampleTensor) => ({ name: t.name, data_type: tritonDataType(t.datatype), dims: t.dims, ...(t.pad && { pad: t.pad }) });
  const doc = new YAML.Document({
    name,
    backend: 'onnxruntime',
    max_batch_size: config.max_batch_size,
    input: config.input.map(tensor),
    output: config.output.map(tensor),
    instance_group: [{ count: 1, kind: 'KIND_CPU' }],
  });
  doc.commentBefore = ' Written by shoal\'s example generator (src/onnx/examples.ts); regenerating overwrites edits.';
  // dims read best on one line, as Triton's own configs write them.
  YAML.visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => YAML.isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ flowCollectionPadding: false });
}
