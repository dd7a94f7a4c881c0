/**
 * The engine ceiling: onnxruntime-node called in-process, no HTTP, no JSON, no queue, at each
 * batch size. Whatever a server adds on top shows as the gap between its figures and these.
 *
 *   npx tsx bench/baselines/ort-direct.ts [--model cnn] [--repo DIR] [--batches 1,2,4,8,16,32]
 *                                         [--seconds 2] [--dim 16] [--threads N]
 *
 * Without --repo the generated example models are written to a temporary folder first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { writeExampleRepository } from '../../src/onnx/examples.js';
import { rng } from '../../src/bench/random.js';

export interface BatchFigures { batch: number; runs: number; p50Ms: number; p99Ms: number; inferencesPerS: number }

type Meta = ort.InferenceSession.TensorValueMetadata;

/** Random feeds: the first symbolic dimension is the batch, any other takes `dim`. */
function feeds(inputs: readonly Meta[], batch: number, dim: number, seed: number): Record<string, ort.Tensor> {
  const r = rng(seed);
  return Object.fromEntries(inputs.map((m) => {
    const shape = m.shape.map((d, i) => (typeof d === 'number' && d >= 0 ? d : i === 0 ? batch : dim));
    const n = shape.reduce((a, b) => a * b, 1);
    const small = (): number => Math.floor(r() * 100);
    const data = m.type === 'float32' ? Float32Array.from({ length: n }, () => r() * 2 - 1)
      : m.type === 'float64' ? Float64Array.from({ length: n }, () => r() * 2 - 1)
        : m.type === 'int64' ? BigInt64Array.from({ length: n }, () => BigInt(small()))
          : m.type === 'int32' ? Int32Array.from({ length: n }, small)
            : undefined;
    if (!data) throw new Error(`input '${m.name}': ${m.type} inputs are not generated here`);
    return [m.name, new ort.Tensor(m.type, data, shape)];
  }));
}

/** Figures from every run's time (ms) of batches of `batch`, over `elapsedS` of wall time. */
function batchFigures(batch: number, times: number[], elapsedS: number): BatchFigures {
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  return { batch, runs: times.length, p50Ms: at(0.5), p99Ms: at(0.99), inferencesPerS: (batch * times.length) / elapsedS };
}

export async function measureBatches(file: string, o: { batches: number[]; seconds: number; dim: number; threads?: number }): Promise<BatchFigures[]> {
  const session = await ort.InferenceSession.create(file, o.threads ? { intraOpNumThreads: o.threads } : {});
  const inputs = session.inputMetadata.filter((m): m is Meta => m.isTensor);
  const figures: BatchFigures[] = [];
  try {
    for (const batch of o.batches) {
      const f = feeds(inputs, batch, o.dim, batch);
      for (let i = 0; i < 5; i++) await session.run(f);
      const times: number[] = [];
      const start = performance.now();
      // At least 20 runs, so a slow model still gives a p99 of something.
      while (times.length < 20 || performance.now() - start < o.seconds * 1000) {
        const t0 = performance.now();
        await session.run(f);
        times.push(performance.now() - t0);
      }
      figures.push(batchFigures(batch, times, (performance.now() - start) / 1000));
    }
  } finally {
    await session.release();
  }
  return figures;
}

/**
 * Several sessions of one model, each on a worker thread of its own with `threads` intra-op
 * threads, all running batches at once: the arrangement a server with that many instances
 * uses. onnxruntime-node's `run` computes on the calling thread, so sessions on one thread would
 * take turns. The worker is a string, evaluated as CommonJS, so that it runs the same under tsx
 * and from dist/ without a second file to build.
 */
const PARALLEL_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
(async () => {
  const s = await ort.InferenceSession.create(workerData.file, { intraOpNumThreads: workerData.threads });
  const feeds = {};
  for (const [name, t] of Object.entries(workerData.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  for (let i = 0; i < 5; i++) await s.run(feeds);
  parentPort.postMessage('ready');
  parentPort.once('message', async (seconds) => {
    const times = [];
    const start = performance.now();
    while (times.length < 20 || performance.now() - start < seconds * 1000) {
      const t0 = performance.now();
      await s.run(feeds);
      times.push(performance.now() - t0);
    }
    parentPort.postMessage({ times, elapsedMs: performance.now() - start });
    await s.release();
  });
})().catch((e) => { throw e; });
`;

export async function measureParallel(file: string, o: { sessions: number; threads: number; batch: number; seconds: number; dim: number }): Promise<BatchFigures> {
  const probe = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  const f = feeds(probe.inputMetadata.filter((m): m is Meta => m.isTensor), o.batch, o.dim, o.batch);
  await probe.release();
  const wire = Object.fromEntries(Object.entries(f).map(([name, t]) => [name, { type: t.type, data: t.data, dims: t.dims }]));
  const ortPath = fileURLToPath(import.meta.resolve('onnxruntime-node'));
  const workers = Array.from({ length: o.sessions }, () => new Worker(PARALLEL_WORKER, { eval: true, workerData: { ort: ortPath, file, threads: o.threads, feeds: wire } }));
  const next = (w: Worker): Promise<unknown> => new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  try {
    await Promise.all(workers.map(next));
    const results = await Promise.all(workers.map((w) => {
      const r = next(w);
      w.postMessage(o.seconds);
      return r as Promise<{ times: number[]; elapsedMs: number }>;
    }));
    return batchFigures(o.batch, results.flatMap((r) => r.times), Math.max(...results.map((r) => r.elapsedMs)) / 1000);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export function figuresTable(model: string, rows: BatchFigures[]): string {
  const head = ['batch', 'runs', 'p50 ms/run', 'p99 ms/run', 'inferences/s', 'µs/inference'];
  const cells = rows.map((r) => [String(r.batch), String(r.runs), r.p50Ms.toFixed(3), r.p99Ms.toFixed(3), r.inferencesPerS.toFixed(0), (1e6 / r.inferencesPerS).toFixed(1)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => x.padStart(w[i]!)).join('  ');
  return [`onnxruntime-node ${ort.env.versions.common ?? ''} direct, model ${model}`, line(head), w.map((n) => '─'.repeat(n)).join('  '), ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'cnn' }, repo: { type: 'string' }, batches: { type: 'string', default: '1,2,4,8,16,32' },
      seconds: { type: 'string', default: '2' }, dim: { type: 'string', default: '16' }, threads: { type: 'string' },
    },
  });
  const temp = values.repo ? undefined : await mkdtemp(path.join(os.tmpdir(), 'shoal-ort-direct-'));
  const repo = values.repo ?? temp!;
  try {
    if (temp) await writeExampleRepository(temp, { includePretrained: false });
    const rows = await measureBatches(path.join(repo, values.model, '1', 'model.onnx'), {
      batches: values.batches.split(',').map(Number), seconds: Number(values.seconds), dim: Number(values.dim),
      ...(values.threads ? { threads: Number(values.threads) } : {}),
    });
    console.log(figuresTable(values.model, rows));
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
