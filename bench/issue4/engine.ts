/**
 * The engine ceiling: for each batch size, onnxruntime-node called in-process on the model
 * file (bench/baselines/ort-direct.ts) against shoal serving the same model, fed requests of
 * that batch size by `shoal bench` (binary tensors, a closed loop of 2 clients so the next
 * request is already there when a batch finishes). Same intra-op thread count on both sides.
 */
import os from 'node:os';
import path from 'node:path';
import type { PointStats } from '../../src/bench/recorder.js';
import { measureBatches, type BatchFigures } from '../baselines/ort-direct.js';
import { measure, trouble } from '../lib/measure.js';

export const ENGINE_MODELS: ReadonlyArray<{ model: string; batches: number[]; dim?: number }> = [
  { model: 'mlp', batches: [1, 8, 32] },
  { model: 'cnn', batches: [1, 8, 32] },
  { model: 'text_encoder', batches: [1, 8, 16], dim: 32 },
];

export const ENGINE_CLIENTS = 2;

/** shoal's default for a model with one instance and no thread setting: every core (src/models/model-manager.ts). */
export const shoalIntraOpThreads = (): number => Math.max(1, os.availableParallelism());

export interface EngineRow {
  batch: number;
  ort?: BatchFigures;
  shoal?: PointStats;
  trouble?: string;
}

export async function engineCeiling(shoalUrl: string, repo: string, m: { model: string; batches: number[]; dim?: number }, o: { pointS: number; warmupS: number }): Promise<EngineRow[]> {
  const ort = await measureBatches(path.join(repo, m.model, '1', 'model.onnx'), { batches: m.batches, seconds: o.pointS, dim: m.dim ?? 16, threads: shoalIntraOpThreads() });
  const rows: EngineRow[] = [];
  for (const batch of m.batches) {
    const row: EngineRow = { batch, ...(ort.find((f) => f.batch === batch) ? { ort: ort.find((f) => f.batch === batch)! } : {}) };
    try {
      row.shoal = await measure({ url: shoalUrl, model: m.model, mode: 'concurrency', level: ENGINE_CLIENTS, durationS: o.pointS, warmupS: o.warmupS, binary: true, batch, ...(m.dim !== undefined ? { dim: m.dim } : {}) });
      const bad = trouble(row.shoal);
      if (bad) row.trouble = bad;
    } catch (err) {
      row.trouble = (err as Error).message;
    }
    rows.push(row);
  }
  return rows;
}
