/**
 * `shoal profile`: measures the cost model of a model repository on this machine, through
 * the same path the server loads and runs models by (ModelManager, OnnxBackend), so the load
 * time and footprint are those the model manager measures, and the batch latencies those of
 * a session the scheduler would run batches on. Models are measured one at a time, each
 * unloaded before the next, so they do not share the cores.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { encodeJson, randomTensor } from '../bench/payload.js';
import { substream } from '../bench/random.js';
import type { BackendSession } from '../backends/backend.js';
import { OnnxBackend } from '../backends/onnx/onnx-backend.js';
import { systemClock } from '../core/clock.js';
import { ModelManager } from '../models/model-manager.js';
import { decodeInferRequest } from '../protocol/kserve/decode.js';
import { encodeInferResponse } from '../protocol/kserve/encode.js';
import { batchingConfigOf, queueRulesOf } from '../scheduling/rules.js';
import { PROFILE_SCHEMA, type ContendedPoint, type IdlePoint, type LatencyPoint, type ModelCost, type ProfileFile } from './cost-model.js';

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
  /** Idle times before the timed runs of one row that measure what waking an instance costs (ms); default IDLE_GAPS_MS, [] for none. */
  idleGapsMs?: number[];
  /** Timed runs per idle time (default `runs`). */
  idleRuns?: number;
  /**
   * One-row runs, after the shortest idle gap, timed while another process of normal priority
   * keeps one core busy (the model's `contended` point); 0 or absent: not measured.
   */
  contendedRuns?: number;
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
      const idle: IdlePoint[] = [];
      for (const gap of o.idleGapsMs ?? IDLE_GAPS_MS) {
        idle.push(await timeAfterIdle(v.sessions[0]!, v.config.output.map((x) => x.name), max > 0, gap, o));
        const p = idle.at(-1)!;
        say(`${name}: after ${p.afterMs.toFixed(1)} ms idle: median ${p.ms.toFixed(3)} ms, p99 ${p.p99Ms!.toFixed(3)} ms`);
      }
      let contended: ContendedPoint | undefined;
      if ((o.contendedRuns ?? 0) > 0) {
        contended = await timeContended(v.sessions[0]!, v.config.output.map((x) => x.name), max > 0, Math.min(...(o.idleGapsMs ?? IDLE_GAPS_MS), CONTENDED_GAP_MS), o);
        say(`${name}: beside a busy core: median ${contended.ms.toFixed(3)} ms, p99 ${contended.p99Ms!.toFixed(3)} ms`);
      }
      const codec = await timeCodec(v.sessions[0]!, v.config.output.map((x) => x.name), max > 0, name, o);
      say(`${name}: decoding a JSON request ${codec.requestMs.toFixed(3)} ms, encoding its answer ${codec.answerMs.toFixed(3)} ms`);
      const load = loads.get(name)!;
      const rules = queueRulesOf(v.config);
      const b = batchingConfigOf(v.config);
      const batching = b.dynamic
        ? { maxBatchSize: b.maxBatchSize, dynamic: { preferredBatchSizes: [...b.dynamic.preferredBatchSizes], maxQueueDelayMs: b.dynamic.maxQueueDelayMs, preserveOrdering: b.dynamic.preserveOrdering ?? false } }
        : { maxBatchSize: b.maxBatchSize };
      models.push({
        name, instances: v.sessions.length, batching, rules, latency,
        loadMs: round(load.ms), footprintBytes: load.footprintBytes, overheadMs: 0, ...codec, ...(idle.length ? { idle } : {}), ...(contended ? { contended } : {}),
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
    createdAt: new Date().toISOString(), ...(command ? { command } : {}), node: { requestMs: 0, answerMs: 0, afterMs: 0, background: 0 }, models,
  };
}

function powersOfTwo(max: number): number[] {
  const out: number[] = [];
  for (let b = 1; b < max; b *= 2) out.push(b);
  out.push(max);
  return out;
}

/**
 * Idle times that `shoal profile` waits before timing a batch. Back-to-back runs keep the
 * worker's and onnxruntime's threads awake; a server's instance usually waits a little between
 * requests, and a run after a wait of 1 to 20 ms was measured here (2 vCPUs of a virtual
 * machine) at 1.5 to 10 times the back-to-back time of the example models.
 */
export const IDLE_GAPS_MS = [1, 2, 5, 20];

function inputsFor(session: BackendSession, rows: number, batched: boolean, o: MeasureOptions) {
  const r = substream(o.seed, `profile:${rows}`);
  return session.inputs.map((t) => randomTensor({
    name: t.name, datatype: t.datatype,
    shape: t.dims.map((d, i) => (i === 0 && batched ? rows : d < 0 ? o.dim : d)),
  }, r));
}

async function timeBatch(
  session: BackendSession, outputs: string[], rows: number, batched: boolean, o: MeasureOptions,
): Promise<LatencyPoint> {
  const inputs = inputsFor(session, rows, batched, o);
  for (let i = 0; i < o.warmupRuns; i++) await session.run(inputs, outputs);
  const ms: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    const t0 = performance.now();
    await session.run(inputs, outputs);
    ms.push(performance.now() - t0);
  }
  return { batchSize: rows, ...spreadOf(ms), runs: o.runs };
}

/** One row after the session sat idle for `gapMs` each time; `afterMs` is the idle time as it came out (timers overshoot). */
async function timeAfterIdle(session: BackendSession, outputs: string[], batched: boolean, gapMs: number, o: MeasureOptions): Promise<IdlePoint> {
  const inputs = inputsFor(session, 1, batched, o);
  const ms: number[] = [];
  const gaps: number[] = [];
  let end = performance.now();
  const runs = o.idleRuns ?? o.runs;
  for (let i = 0; i < runs; i++) {
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    const t0 = performance.now();
    await session.run(inputs, outputs);
    gaps.push(t0 - end);
    end = performance.now();
    ms.push(end - t0);
  }
  return { afterMs: spreadOf(gaps).ms, ...spreadOf(ms), runs };
}

/** The idle time before each contended run at most: a server's instance between requests at the loads predicted. */
const CONTENDED_GAP_MS = 1;

/**
 * One row after `gapMs` idle, each time, while a separate Node process at this process's
 * priority spins on one core: what a batch takes when the event loop or the load generator
 * holds a core. Measured here (2 vCPUs, 1000 runs each, other work on the machine), the example
 * cnn's one row after 1.2 ms idle had a p99 of 4.5 ms alone and 13 ms beside the spinner.
 */
async function timeContended(session: BackendSession, outputs: string[], batched: boolean, gapMs: number, o: MeasureOptions): Promise<ContendedPoint> {
  const spinner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    // Until the spinner runs, the runs would be timed beside an idle core.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return await timeAfterIdle(session, outputs, batched, gapMs, { ...o, idleRuns: o.contendedRuns! });
  } finally {
    spinner.kill('SIGKILL');
  }
}

/** The server's default limits (src/server/server.ts); the requests timed here are far inside them. */
const LIMITS = { maxElementsPerTensor: 16 * 1024 * 1024, maxElementsPerRequest: 32 * 1024 * 1024 };

/**
 * The model's own share of the event loop's work per request, as the server does it for a JSON
 * request of one row (as `shoal bench` sends by default): decoding the request, encoding the
 * answer. The rest of the loop's work (HTTP, admission, the worker's messages) is the same for
 * every model and belongs to the node; the fidelity benchmark measures it.
 */
async function timeCodec(session: BackendSession, outputs: string[], batched: boolean, model: string, o: MeasureOptions): Promise<{ requestMs: number; answerMs: number }> {
  const inputs = inputsFor(session, 1, batched, o);
  const body = encodeJson(inputs).body;
  const context = { model, arrivalTime: 0, traceId: 'profile' };
  const request = decodeInferRequest(body, undefined, LIMITS, context);
  const response = { model, version: '1', outputs: await session.run(inputs, outputs) };
  const median = (f: () => unknown): number => {
    for (let i = 0; i < o.warmupRuns; i++) f();
    const ms: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const t0 = performance.now();
      f();
      ms.push(performance.now() - t0);
    }
    return spreadOf(ms).ms;
  };
  return { requestMs: median(() => decodeInferRequest(body, undefined, LIMITS, context)), answerMs: median(() => encodeInferResponse(response, request)) };
}

function spreadOf(ms: number[]): { ms: number; p10Ms: number; p90Ms: number; p99Ms: number; maxMs: number } {
  ms.sort((a, b) => a - b);
  const q = (p: number): number => round(ms[Math.min(ms.length - 1, Math.max(0, Math.ceil(p * ms.length) - 1))]!);
  return { ms: q(0.5), p10Ms: q(0.1), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: round(ms.at(-1)!) };
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;
