/**
 * Every HTTP figure in BENCHMARKS.md is measured by `shoal bench` (src/bench): its generator,
 * open and closed loops and recorder, called in this process. These helpers only fill in the
 * options a bench point needs and build one set of inputs that every server under comparison
 * is sent, so the bodies are byte for byte the same.
 */
import type { Tensor } from '../../src/core/tensor.js';
import { randomTensor } from '../../src/bench/payload.js';
import { substream } from '../../src/bench/random.js';
import type { PointStats } from '../../src/bench/recorder.js';
import { runBench, type BenchOptions } from '../../src/bench/runner.js';
import { concreteShapes } from '../../src/bench/shapes.js';
import { endpoint, fetchMaxBatchSize, fetchMetadata } from '../../src/bench/target.js';

export interface Point {
  url: string;
  model: string;
  /** Open loop at `level` requests/s (Poisson), or a closed loop of `level` clients. */
  mode: 'rate' | 'concurrency';
  level: number;
  durationS: number;
  warmupS: number;
  binary?: boolean;
  batch?: number;
  dim?: number;
  /** Requests to send (see `sharedInputs`); without them, random ones from the server's metadata. */
  inputs?: Tensor[][];
  deadlineMs?: number;
  sloMs?: number;
  connections?: number;
  timeoutMs?: number;
  seed?: number;
  onPointStart?: (originMs: number) => void;
}

export async function measure(p: Point): Promise<PointStats> {
  const o: BenchOptions = {
    url: p.url, models: [p.model], popularity: { kind: 'uniform' }, mode: p.mode, arrival: 'poisson', cv: 1, levels: [p.level],
    durationS: p.durationS, warmupS: p.warmupS, timeoutMs: p.timeoutMs ?? 30_000, binary: p.binary ?? false,
    batch: p.batch ?? 1, shapes: {}, intRange: [0, 100], seed: p.seed ?? 1,
    ...(p.dim !== undefined ? { dim: p.dim } : {}),
    ...(p.inputs ? { inputData: new Map([[p.model, p.inputs]]) } : {}),
    ...(p.deadlineMs !== undefined ? { deadlineMs: p.deadlineMs } : {}),
    ...(p.sloMs !== undefined ? { sloMs: p.sloMs } : {}),
    ...(p.connections !== undefined ? { connections: p.connections } : {}),
    ...(p.onPointStart ? { onPointStart: p.onPointStart } : {}),
  };
  const report = await runBench(o);
  return report.points[0]!.stats;
}

/**
 * Seeded random requests shaped from `url`'s metadata for `model` (shoal's, which knows the
 * batch dimension), to send unchanged to servers that have no metadata of their own (the bare
 * baseline) or describe the model differently (the naive one).
 */
export async function sharedInputs(url: string, model: string, o: { batch: number; dim?: number; seed?: number; variants?: number }): Promise<Tensor[][]> {
  const e = endpoint(url);
  const meta = await fetchMetadata(e, model);
  const maxBatchSize = await fetchMaxBatchSize(e, model);
  const specs = concreteShapes(meta, { batch: o.batch, shapes: {}, maxBatchSize, ...(o.dim !== undefined ? { dim: o.dim } : {}) });
  const r = substream(o.seed ?? 1, `inputs:${model}`);
  return Array.from({ length: o.variants ?? 16 }, () => specs.map((s) => randomTensor(s, r, [0, 100])));
}

/** One line on what went wrong at a point, or undefined when nothing did. */
export function trouble(s: PointStats): string | undefined {
  const errors = Object.entries(s.errors).map(([kind, e]) => `${e.count}× ${kind} (${e.sample.slice(0, 80)})`);
  return errors.length ? errors.join('; ') : undefined;
}
