/**
 * Issue 3 (b): the CNN's saturated throughput through shoal (dynamic batching on) over
 * onnxruntime-node's in-process throughput at its best batch size, with the same threads.
 * shoal serves the CNN with CNN_INSTANCES instances of one intra-op thread each (repos.ts), so
 * onnxruntime is measured both ways with those threads: one session using them all, and one
 * session per thread running at once; the denominator is the better of the two at its best
 * batch size. shoal is saturated several ways: many clients each sending one image (the
 * server forms the batches), and a few clients each sending whole batches, of ort's best size
 * and of the model's max_batch_size; its saturated throughput is the highest of these.
 */
import path from 'node:path';
import type { PointStats } from '../../src/bench/recorder.js';
import { measureBatches, measureParallel, type BatchFigures } from '../baselines/ort-direct.js';
import { shoalIntraOpThreads } from '../issue4/engine.js';
import { measure, trouble } from '../lib/measure.js';
import { sharesDuring, type ThreadGroupShare } from '../lib/threads.js';

export const CNN_BATCHES = [1, 2, 4, 8, 16, 32];
export const CNN_MAX_BATCH = 32;
export const ONE_IMAGE_CLIENTS = 64;
export const FULL_BATCH_CLIENTS = 4;
export const ENGINE_TARGET = 0.9;

export interface CnnLoad {
  clients: number;
  batch: number;
  stats: PointStats;
  inferencesPerS: number;
  /** Where the cores went meanwhile, server and generator (bench/lib/threads.ts); absent off Linux. */
  threads?: ThreadGroupShare[];
}

/** onnxruntime's throughput with the threads arranged one way: `sessions` at once, `threads` each. */
export interface OrtArrangement { sessions: number; threads: number; figures: BatchFigures[] }

export interface CnnCeiling {
  threads: number;
  /** One session with every thread, then one single-threaded session per thread. */
  ort: OrtArrangement[];
  best: BatchFigures & { sessions: number; threads: number };
  loads: CnnLoad[];
  /** The load that got the most inferences through. */
  saturated: CnnLoad;
  ratio: number;
  trouble?: string;
}

export async function cnnCeiling(url: string, pid: number, repo: string, o: { pointS: number; warmupS: number }): Promise<CnnCeiling> {
  const threads = shoalIntraOpThreads();
  const file = path.join(repo, 'cnn', '1', 'model.onnx');
  const ort: OrtArrangement[] = [{ sessions: 1, threads, figures: await measureBatches(file, { batches: CNN_BATCHES, seconds: o.pointS, dim: 1, threads }) }];
  if (threads > 1) {
    const figures: BatchFigures[] = [];
    for (const batch of CNN_BATCHES) figures.push(await measureParallel(file, { sessions: threads, threads: 1, batch, seconds: o.pointS, dim: 1 }));
    ort.push({ sessions: threads, threads: 1, figures });
  }
  const best = ort.flatMap((a) => a.figures.map((f) => ({ ...f, sessions: a.sessions, threads: a.threads })))
    .reduce((a, b) => (b.inferencesPerS > a.inferencesPerS ? b : a));
  const shapes = [{ clients: ONE_IMAGE_CLIENTS, batch: 1 }, ...[...new Set([best.batch, CNN_MAX_BATCH])].filter((b) => b > 1).map((batch) => ({ clients: FULL_BATCH_CLIENTS, batch }))];
  const loads: CnnLoad[] = [];
  for (const l of shapes) {
    const { result: stats, threads } = await sharesDuring(pid, () => measure({ url, model: 'cnn', mode: 'concurrency', level: l.clients, batch: l.batch, durationS: o.pointS, warmupS: o.warmupS, binary: true }));
    loads.push({ ...l, stats, inferencesPerS: stats.throughputPerS * l.batch, ...(threads ? { threads } : {}) });
  }
  const saturated = loads.reduce((a, b) => (b.inferencesPerS > a.inferencesPerS ? b : a));
  const bad = loads.map((l) => trouble(l.stats)).filter(Boolean).join('; ');
  return { threads, ort, best, loads, saturated, ratio: saturated.inferencesPerS / best.inferencesPerS, ...(bad ? { trouble: bad } : {}) };
}
