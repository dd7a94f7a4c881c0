/**
 * The model repository shoal serves during the bench: the generated example models, written
 * afresh for each run so that a stale or hand-edited `models/` never serves a measurement.
 */
import { rm } from 'node:fs/promises';
import { writeExampleRepository } from '../../src/onnx/examples.js';

export const IDENTITY_MODEL = 'identity_fp32';
export const CNN_MODEL = 'cnn';

export async function prepareBenchRepository(out: string): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await writeExampleRepository(out, { includePretrained: false });
}
