/**
 * `shoal profile`: measures the cost model of a model repository on this machine, through
 * the same path the server loads and runs models by (ModelManager, OnnxBackend), so the load
 * time and footprint are those the model manager measures, and the batch latencies those of
 * a session the scheduler would run batches on. Models are measured one at a time, each
 * unloaded before the next, so they do not share the cores.
 */
import os from 'node:os';
import { randomTensor } from '../bench/payload.js';
import { substream } from '../bench/random.js';
import type { BackendSession } from '../backends/backend.js';
import { OnnxBackend } from '../backends/onnx/onnx-backend.js';
import { systemClock } from '../core/clock.js';
import { ModelManager } from '../models/model-manager.js';
import { batchingConfigOf, queueRulesOf } from '../scheduling/rules.js';
import { PROFILE_SCHEMA, type LatencyPoint, type ModelCost, type ProfileFile } from './cost-model.js';

export interface MeasureOptions {
  repository: string;
  /** Absent: every model in the repository that loads. */
  models?: string[];
  /** Absent: 1, 2, 4, … up to each model's max_batch_size. */
  batchSizes?: number[];
  /** Timed runs per batch size, after `warmupRuns` untimed ones. */
  runs: number;
  warmupRuns: number;
  /** Size for dynamic dimensions other than the batch. */
  dim: number;
  seed: number;
  progress?: (line: string) => void;
}

export async function measureProfile(o: MeasureOptions, command?: string): Promise<ProfileFile> {
  const say = o.progress ?? (() => {});
  const loads = new Map<string, { ms: number; footprintBytes: number }>();
  const manager = new ModelManager({
    repository: o.repository, backend: new OnnxBackend(), clock: systemClock, maxQueueSize: 0, controlMode: 'explicit',
    events: { loaded: (e) => loads.set(e.model, { ms: e.ms, footprintBytes: e.footprintBytes }) },
  });
  await manager.loadAll();
  const names = o.models ?? manager.index().map((e) => e.name).filter((n, i, all) => all.indexOf(n) === i);
  const models: ModelCost[] = [];
  try {
    for (const name of names) {
      try {
        await manager.load(name);
      } catch (e) {
        if (o.models) throw e;
        say(`${name}: skipped: ${(e as Error).message}`);
        continue;
      }
      const v = manager.resolve(name);
      if (v.config.sequence_batching) {
        say(`${name}: skipped: sequence batching is not simulated`);
        await manager.unload(name);
        continue;
      }
      const max = v.config.max_batch_size;
      const sizes = (o.batchSizes ?? powersOfTwo(Math.max(1, max))).filter((b) => max > 0 ? b <= max : b === 1);
      const latency: LatencyPoint[] = [];
      for (const rows of sizes) {
        latency.push(await timeBatch(v.sessions[0]!, v.config.output.map((x) => x.name), rows, max > 0, o));
        const p = latency.at(-1)!;
        say(`${name}: batch ${rows}: median ${p.ms.toFixed(3)} ms, p99 ${p.p99Ms!.toFixed(3)} ms`);
      }
      const load = loads.get(name)!;
      const rules = queueRulesOf(v.config);
      const b = batchingConfigOf(v.config);
      const batching = b.dynamic
        ? { maxBatchSize: b.maxBatchSize, dynamic: { preferredBatchSizes: [...b.dynamic.preferredBatchSizes], maxQueueDelayMs: b.dynamic.maxQueueDelayMs, preserveOrdering: b.dynamic.preserveOrdering ?? false } }
        : { maxBatchSize: b.maxBatchSize };
      models.push({
        name, instances: v.sessions.length, batching, rules, latency,
        loadMs: round(load.ms), footprintBytes: load.footprintBytes, overheadMs: 0,
      });
      say(`${name}: load ${load.ms.toFixed(1)} ms, footprint ${(load.footprintBytes / 1024 / 1024).toFixed(1)} MiB`);
      await manager.unload(name);
    }
  } finally {
    await manager.unloadAll();
  }
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return {
    schema: PROFILE_SCHEMA, hardware: `${cpu}, ${os.availableParallelism()} cores, onnxruntime-node CPU`,
    createdAt: new Date().toISOString(), ...(command ? { command } : {}), node: { requestMs: 0 }, models,
  };
}

function powersOfTwo(max: number): number[] {
  const out: number[] = [];
  for (let b = 1; b < max; b *= 2) out.push(b);
  out.push(max);
  return out;
}

async function timeBatch(
  session: BackendSession, outputs: string[], rows: number, batched: boolean, o: MeasureOptions,
): Promise<LatencyPoint> {
  const r = substream(o.seed, `profile:${rows}`);
  const inputs = session.inputs.map((t) => randomTensor({
    name: t.name, datatype: t.datatype,
    shape: t.dims.map((d, i) => (i === 0 && batched ? rows : d < 0 ? o.dim : d)),
  }, r));
  for (let i = 0; i < o.warmupRuns; i++) await session.run(inputs, outputs);
  const ms: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const t0 = performance.now();
    await session.run(inputs, outputs);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number): number => round(ms[Math.min(ms.length - 1, Math.max(0, Math.ceil(p * ms.length) - 1))]!);
  return { batchSize: rows, ms: q(0.5), p10Ms: q(0.1), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: round(ms.at(-1)!), runs: o.runs };
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;
