/**
 * shoal against the baselines on the example models, every figure from `shoal bench`: the same
 * request bodies sent to shoal (JSON and binary), to the naive node:http server (same model,
 * one `session.run` per request) and to the bare server (fixed work, no model: the protocol
 * ceiling), in a closed loop of 1 client (unloaded round trip), of 16 clients (saturated
 * throughput), and in an open loop at half the lower saturated rate of shoal and naive.
 */
import type { PointStats } from '../../src/bench/recorder.js';
import { measure, sharedInputs, trouble } from '../lib/measure.js';

export const COMPARED_MODELS: ReadonlyArray<{ model: string; dim?: number }> = [
  { model: 'identity_fp32', dim: 16 }, { model: 'mlp' }, { model: 'cnn' }, { model: 'text_encoder', dim: 32 },
];

export const COMPARED_TARGETS = ['shoal-json', 'shoal-binary', 'naive-json', 'bare-json'] as const;
export type ComparedTarget = (typeof COMPARED_TARGETS)[number];

export const SATURATING_CLIENTS = 16;

export interface TargetFigures {
  /** Closed loop, 1 client. */
  single?: PointStats;
  /** Closed loop, SATURATING_CLIENTS clients. */
  saturated?: PointStats;
  /** Open loop (Poisson) at the model's common rate. */
  open?: PointStats;
  /** What went wrong, if any point had errors or failed outright. */
  trouble?: string;
}

export interface ModelComparison {
  model: string;
  dim?: number;
  /** The open-loop rate every target was offered. */
  openRate?: number;
  targets: Record<ComparedTarget, TargetFigures>;
}

export interface CompareOptions { pointS: number; warmupS: number }

export async function compareModel(urls: Record<'shoal' | 'naive' | 'bare', string>, m: { model: string; dim?: number }, o: CompareOptions): Promise<ModelComparison> {
  const inputs = await sharedInputs(urls.shoal, m.model, { batch: 1, ...(m.dim !== undefined ? { dim: m.dim } : {}) });
  const urlOf = (t: ComparedTarget): string => (t.startsWith('shoal') ? urls.shoal : t === 'naive-json' ? urls.naive : urls.bare);
  const targets = Object.fromEntries(COMPARED_TARGETS.map((t) => [t, {}])) as Record<ComparedTarget, TargetFigures>;
  const point = async (t: ComparedTarget, mode: 'rate' | 'concurrency', level: number): Promise<PointStats | undefined> => {
    try {
      const s = await measure({ url: urlOf(t), model: m.model, mode, level, durationS: o.pointS, warmupS: o.warmupS, binary: t === 'shoal-binary', inputs });
      const bad = trouble(s);
      if (bad) targets[t].trouble = bad;
      return s;
    } catch (err) {
      targets[t].trouble = (err as Error).message;
      return undefined;
    }
  };
  for (const t of COMPARED_TARGETS) {
    targets[t].single = await point(t, 'concurrency', 1);
    targets[t].saturated = await point(t, 'concurrency', SATURATING_CLIENTS);
  }
  const capacities = (['shoal-json', 'naive-json'] as const).map((t) => targets[t].saturated?.throughputPerS ?? 0).filter((x) => x > 0);
  const openRate = capacities.length ? Math.max(1, Math.round(Math.min(...capacities) / 2)) : undefined;
  if (openRate !== undefined) for (const t of COMPARED_TARGETS) targets[t].open = await point(t, 'rate', openRate);
  return { model: m.model, ...(m.dim !== undefined ? { dim: m.dim } : {}), ...(openRate !== undefined ? { openRate } : {}), targets };
}
