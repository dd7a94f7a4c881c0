/**
 * What a request costs the machine with no inference in it, and what that leaves room for.
 *
 * On this machine the load generator and the server share the cores, and issue 3's three
 * targets are each a rate of requests that both ends must carry. So each unmet target is set
 * against a floor measured in the same run: requests of the target's own shape, sent at the
 * target's own rate, whose deadline (1 µs) has passed by the time the server has read and decoded
 * them, so shoal refuses every one at admission and runs nothing. The CPU the server and the
 * generator spend per request there (kernel time included: most of it is the loopback) is less
 * than an answered request of that shape costs, which also crosses to a session thread and back
 * and is encoded. Dividing the machine's cores between that floor and the inference a target
 * needs gives the most the target could reach here; it counts every core as usable, so the true
 * ceiling is lower still.
 */
import os from 'node:os';
import path from 'node:path';
import { measureBatches, type BatchFigures } from '../baselines/ort-direct.js';
import { measure } from '../lib/measure.js';
import { runningMs, snapshotThreads, type ThreadSnapshot } from '../lib/threads.js';
import { BATCHING_TARGET } from './batching.js';

/** Shorter than any decode: every request is past its deadline when admission sees it. */
export const REFUSE_ALL_DEADLINE_MS = 0.001;

export interface RequestShape { model: string; batch?: number; dim?: number }

export interface HttpCost {
  shape: RequestShape;
  /** Requests/s asked for, and sent in the counted window. */
  rate: number;
  sentPerS: number;
  sent: number;
  refused: number;
  /** Requests the server ran after all (none is expected): the floor is then not one of refusals alone. */
  answered: number;
  /** The counted window and the warm-up before it, s. */
  window: CostWindow;
  /** CPU ms per request sent, each process's threads summed (running time, /proc schedstat). */
  serverMs: number;
  generatorMs: number;
  cores: number;
}

/** How long the floor is measured, after how long a warm-up (connections open, code compiled). */
export interface CostWindow { seconds: number; warmupS: number }

export async function httpCost(url: string, pid: number, shape: RequestShape, rate: number, w: CostWindow): Promise<HttpCost | undefined> {
  let before: ThreadSnapshot | undefined;
  let warm: NodeJS.Timeout | undefined;
  const stats = await measure({
    url, model: shape.model, binary: true, mode: 'rate', level: rate, durationS: w.seconds, warmupS: w.warmupS,
    deadlineMs: REFUSE_ALL_DEADLINE_MS, ...(shape.batch !== undefined ? { batch: shape.batch } : {}), ...(shape.dim !== undefined ? { dim: shape.dim } : {}),
    // From the counted window's start, as `sent` counts: not the preflight's requests, nor the warm-up's.
    onPointStart: () => {
      warm = setTimeout(() => { before = snapshotThreads([pid, process.pid]); }, w.warmupS * 1000);
    },
  });
  clearTimeout(warm);
  const after = snapshotThreads([pid, process.pid]);
  if (!before || !after || stats.sent === 0) return undefined;
  const [server, generator] = runningMs(before, after).map((ms) => ms / stats.sent);
  const refused = (stats.errors['HTTP 429']?.count ?? 0) + (stats.errors['HTTP 503']?.count ?? 0);
  return { shape, rate, sentPerS: stats.sentRatePerS, sent: stats.sent, refused, answered: stats.ok, window: w, serverMs: server!, generatorMs: generator!, cores: os.availableParallelism() };
}

export const perRequestMs = (c: HttpCost): number => c.serverMs + c.generatorMs;

/**
 * The highest request rate the cores allow when each request costs the floor plus `inferenceMs`
 * of CPU (ms per request; 0 to count no inference at all).
 */
export function rateCeiling(c: HttpCost, inferenceMs: number): number {
  return (c.cores * 1000) / (perRequestMs(c) + inferenceMs);
}

/**
 * The highest goodput the cores allow under overload at `rate`/s when each good answer costs
 * `goodMs` of CPU (measured at the best goodput) and each refusal the floor: good answers g and
 * refusals (rate − g) must fit in the cores.
 */
export function overloadCeiling(c: HttpCost, rate: number, goodMs: number): number {
  const refusal = perRequestMs(c);
  if (goodMs <= refusal) return rate;
  return Math.max(0, Math.min(rate, (c.cores * 1000 - rate * refusal) / (goodMs - refusal)));
}

/** One sentence naming the floor's figures, for the report. */
export function describeCost(c: HttpCost): string {
  const what = `\`${c.shape.model}\`${c.shape.dim !== undefined ? ` (seq ${c.shape.dim})` : ''}, ${c.shape.batch ?? 1} per request`;
  const ran = c.answered > 0 ? `; ${c.answered} ran anyway` : '';
  return `${c.sent} requests of ${what} sent at ${Math.round(c.sentPerS)}/s (of ${Math.round(c.rate)}/s asked) over ${c.window.seconds} s after ${c.window.warmupS} s of warm-up, ${c.refused} refused${ran}, ` +
    `cost ${c.serverMs.toFixed(3)} ms of server CPU and ${c.generatorMs.toFixed(3)} ms of generator CPU each, ${perRequestMs(c).toFixed(3)} ms together`;
}

/** The most on ÷ off could reach for a batching model here, with every sequence in full batches. */
export interface BatchingCeiling {
  cost: HttpCost;
  /** onnxruntime with one thread at the model's max_batch_size: its CPU per sequence is the least a sequence can cost. */
  ort: BatchFigures;
  maxRatePerS: number;
  ratio: number;
}

export async function batchingCeiling(url: string, pid: number, repo: string, m: { model: string; dim?: number }, offBest: number, o: CostWindow & { maxBatch: number }): Promise<BatchingCeiling | undefined> {
  const [ort] = await measureBatches(path.join(repo, m.model, '1', 'model.onnx'), { batches: [o.maxBatch], seconds: o.seconds, dim: m.dim ?? 1, threads: 1 });
  const cost = await httpCost(url, pid, { model: m.model, batch: 1, ...(m.dim !== undefined ? { dim: m.dim } : {}) }, BATCHING_TARGET * offBest, o);
  if (!ort || !cost) return undefined;
  const maxRatePerS = rateCeiling(cost, 1000 / ort.inferencesPerS);
  return { cost, ort, maxRatePerS, ratio: maxRatePerS / offBest };
}

/** Starts a bare node:http refuser (bench/baselines/bare-refuser.ts) beside the server under test. */
export type StartBareRefuser = () => Promise<{ url: string; pid: number; stop(): Promise<void> }>;

/** The same refusals sent to a bare node:http refuser, started for the measurement and stopped after it. */
async function bareCost(start: StartBareRefuser, shape: RequestShape, rate: number, w: CostWindow): Promise<HttpCost | undefined> {
  const server = await start();
  try {
    return await httpCost(server.url, server.pid, shape, rate, w);
  } finally {
    await server.stop();
  }
}

/**
 * The most the CNN could reach through the server here, each request's images costing their
 * share of ort-direct's best; and (`bare`) the same with a bare node:http server's floor instead.
 */
export interface EngineCeiling {
  cost: HttpCost;
  maxInferencesPerS: number;
  ratio: number;
  bare?: { cost: HttpCost; maxInferencesPerS: number; ratio: number };
}

export async function engineCeiling(
  url: string, pid: number, load: { batch: number; requestsPerS: number }, bestInferencesPerS: number, w: CostWindow, bare?: StartBareRefuser,
): Promise<EngineCeiling | undefined> {
  const shape = { model: 'cnn', batch: load.batch };
  const cost = await httpCost(url, pid, shape, load.requestsPerS, w);
  if (!cost) return undefined;
  // ort-direct's best used every core: each image takes cores ÷ that rate of CPU.
  const imagesMs = (cost.cores * 1000 * load.batch) / bestInferencesPerS;
  const maxInferencesPerS = rateCeiling(cost, imagesMs) * load.batch;
  const ceiling: EngineCeiling = { cost, maxInferencesPerS, ratio: maxInferencesPerS / bestInferencesPerS };
  const floor = bare && await bareCost(bare, shape, load.requestsPerS, w);
  if (floor) {
    const bareMax = rateCeiling(floor, imagesMs) * load.batch;
    ceiling.bare = { cost: floor, maxInferencesPerS: bareMax, ratio: bareMax / bestInferencesPerS };
  }
  return ceiling;
}

/**
 * The most goodput the overload could keep here, refusals costing the floor, two ways: a good
 * answer costing its own floor plus its sequences at onnxruntime's one-thread full-batch rate
 * (a true ceiling), and costing what good answers took at the best goodput (`best`: the cores
 * server and generator ran there, bench/lib/threads.ts, summed, less its refusals' floor).
 */
export interface OverloadBound {
  cost: HttpCost;
  ort: BatchFigures;
  floorGoodMs: number;
  floorMaxPerS: number;
  measuredGoodMs: number;
  measuredMaxPerS: number;
  bestGoodputPerS: number;
  /**
   * The same refusals from a bare node:http server (bench/baselines/bare-refuser.ts), and the
   * ceiling at this build's CPU per good answer if every request, refused or answered, cost
   * shoal no more outside inference than it costs that server. Absent when not measured.
   */
  bare?: { cost: HttpCost; maxPerS: number };
}

export async function overloadBound(
  url: string, pid: number, repo: string, shape: RequestShape, rate: number,
  best: { cores: number; sentPerS: number; answeredPerS: number; goodputPerS: number }, o: CostWindow & { maxBatch: number },
  bare?: StartBareRefuser,
): Promise<OverloadBound | undefined> {
  const [ort] = await measureBatches(path.join(repo, shape.model, '1', 'model.onnx'), { batches: [o.maxBatch], seconds: o.seconds, dim: shape.dim ?? 1, threads: 1 });
  const cost = await httpCost(url, pid, shape, rate, o);
  if (!ort || !cost || best.goodputPerS <= 0) return undefined;
  const floorGoodMs = perRequestMs(cost) + ((shape.batch ?? 1) * 1000) / ort.inferencesPerS;
  const measuredGoodMs = (best.cores * 1000 - Math.max(0, best.sentPerS - best.answeredPerS) * perRequestMs(cost)) / best.goodputPerS;
  const bound: OverloadBound = {
    cost, ort, floorGoodMs, floorMaxPerS: overloadCeiling(cost, rate, floorGoodMs),
    measuredGoodMs, measuredMaxPerS: overloadCeiling(cost, rate, measuredGoodMs), bestGoodputPerS: best.goodputPerS,
  };
  const floor = bare && await bareCost(bare, shape, rate, o);
  if (floor) bound.bare = { cost: floor, maxPerS: overloadCeiling(floor, rate, measuredGoodMs - perRequestMs(cost) + perRequestMs(floor)) };
  return bound;
}
