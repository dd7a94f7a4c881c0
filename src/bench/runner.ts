/**
 * One benchmark run: prepare requests from the server's metadata, play each load point
 * (one, or several for a sweep), and gather what was measured into a report.
 */
import type { Tensor } from '../core/tensor.js';
import { closedLoop, openLoop, type LoadContext } from './load.js';
import { Recorder, type PointStats } from './recorder.js';
import type { InputSpec } from './shapes.js';
import type { EncodedRequest } from './payload.js';
import { connectionPool, endpoint, preflight, prepareModel, type ExtraHeaders, type PreparedModel } from './target.js';
import { describeWorkload, workloadArrivals, workloadDurationMs, workloadModels, type Arrival, type Popularity, type Workload } from './workload.js';

const HEADER_LENGTH = 'inference-header-content-length';

export interface BenchOptions {
  url: string;
  models: string[];
  version?: string;
  popularity: Popularity;
  mode: 'rate' | 'concurrency' | 'trace';
  arrival: 'poisson' | 'gamma' | 'constant';
  cv: number;
  /** Requests per second (rate mode) or clients (concurrency mode), one per point. */
  levels: number[];
  trace?: Arrival[];
  durationS: number;
  warmupS: number;
  sloMs?: number;
  /**
   * Sent as every request's `parameters.deadline_ms` (shoal's per-request deadline), and the
   * objective goodput counts against, in place of --slo-ms.
   */
  deadlineMs?: number;
  /**
   * Headers sent with every request (metadata, preflight and inference), names in lower case:
   * `authorization: Bearer KEY` for a server with tenants. The report names them, never their values.
   */
  headers?: ExtraHeaders;
  connections?: number;
  timeoutMs: number;
  binary: boolean;
  batch: number;
  dim?: number;
  shapes: Record<string, number[]>;
  inputData?: Map<string, Tensor[][]>;
  intRange: [number, number];
  seed: number;
  /** Progress lines, for stderr. */
  progress?: (line: string) => void;
  /** Called with performance.now() at each point's time zero, for tests that correlate with a server clock. */
  onPointStart?: (originMs: number) => void;
}

export interface PointReport {
  label: string;
  rate?: number;
  concurrency?: number;
  workload: string;
  stats: PointStats;
}

export interface BenchReport {
  tool: 'shoal bench';
  schema: 1;
  startedAt: string;
  command?: string;
  target: { url: string; binary: boolean; models: Array<{ name: string; path: string; inputs: InputSpec[]; requestBytes: number }> };
  settings: {
    mode: BenchOptions['mode'];
    arrival?: BenchOptions['arrival'];
    cv?: number;
    popularity: Popularity;
    seed: number;
    durationS: number;
    warmupS: number;
    sloMs?: number;
    deadlineMs?: number;
    /** Names of the extra headers sent; their values (API keys) are left out. */
    headers?: string[];
    connections: number;
    timeoutMs: number;
  };
  points: PointReport[];
}

/** Enough connections for the rate at up to 200 ms per answer before requests queue in the client. */
export function defaultConnections(o: Pick<BenchOptions, 'mode' | 'levels' | 'trace' | 'connections'>): number {
  if (o.connections !== undefined) return o.connections;
  if (o.mode === 'concurrency') return Math.max(...o.levels);
  const rows = o.trace ?? [];
  const rate = o.mode === 'trace' ? rows.length / Math.max(0.001, (rows.at(-1)?.atMs ?? 0) / 1000) : Math.max(...o.levels);
  return Math.min(512, Math.max(8, Math.ceil(rate * 0.2)));
}

function workloadFor(o: BenchOptions, level: number | undefined): Workload {
  const durationMs = (o.warmupS + o.durationS) * 1000;
  const deadline = o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {};
  if (o.mode === 'trace') return { kind: 'trace', rows: o.trace ?? [] };
  if (o.mode === 'concurrency') return { kind: 'closed', concurrency: level!, models: o.models, popularity: o.popularity, durationMs, ...deadline };
  return { kind: 'open', process: { kind: o.arrival, ratePerS: level!, cv: o.cv }, models: o.models, popularity: o.popularity, durationMs, ...deadline };
}

/**
 * The request with `params` merged into its request-level `parameters`. Bodies are encoded
 * before the run, so this too costs nothing while sending. A binary-extension body keeps its
 * tensor bytes; only the JSON header before them, and its length, change.
 */
export function withRequestParameters(req: EncodedRequest, params: Record<string, unknown>): EncodedRequest {
  const given = req.headers[HEADER_LENGTH];
  const jsonEnd = given === undefined ? req.body.length : Number(given);
  const header = JSON.parse(req.body.subarray(0, jsonEnd).toString('utf8')) as { parameters?: Record<string, unknown> };
  header.parameters = { ...header.parameters, ...params };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return {
    headers: given === undefined ? req.headers : { ...req.headers, [HEADER_LENGTH]: String(json.length) },
    body: Buffer.concat([json, req.body.subarray(jsonEnd)]),
  };
}

/**
 * About 120 bins per point, in whole tenths of a second, and wide enough to expect 20 requests
 * each at a known rate, so a bin's p99 and rate are not one or two samples' noise.
 */
export function binMsFor(totalMs: number, ratePerS?: number): number {
  const tenths = (ms: number): number => Math.ceil(ms / 100) * 100;
  return Math.max(100, tenths(totalMs / 120), ratePerS ? tenths((20 / ratePerS) * 1000) : 0);
}

async function prepareAll(o: BenchOptions, models: string[]): Promise<Map<string, PreparedModel>> {
  const e = endpoint(o.url);
  const prepared = new Map<string, PreparedModel>();
  for (const model of models) {
    const data = o.inputData?.get(model) ?? o.inputData?.get('*');
    const m = await prepareModel(e, model, {
      batch: o.batch, dim: o.dim, shapes: o.shapes, version: o.version, binary: o.binary,
      seed: o.seed, intRange: o.intRange, variants: 16, ...(data ? { data } : {}), ...(o.headers ? { headers: o.headers } : {}),
    });
    const deadline = o.deadlineMs;
    prepared.set(model, deadline === undefined ? m : { ...m, requests: m.requests.map((r) => withRequestParameters(r, { deadline_ms: deadline })) });
  }
  return prepared;
}

export async function runBench(o: BenchOptions, command?: string): Promise<BenchReport> {
  const say = o.progress ?? (() => {});
  const startedAt = new Date().toISOString();
  const levels: Array<number | undefined> = o.mode === 'trace' ? [undefined] : o.levels;
  const modelNames = o.mode === 'trace' ? workloadModels(workloadFor(o, undefined)) : o.models;
  const models = await prepareAll(o, modelNames);
  const connections = defaultConnections(o);
  const pool = connectionPool(endpoint(o.url), connections, o.timeoutMs);
  const points: PointReport[] = [];
  try {
    await preflight(pool, endpoint(o.url), [...models.values()], connections, o.headers);
    for (const level of levels) {
      const w = workloadFor(o, level);
      const label = o.mode === 'trace' ? 'trace' : o.mode === 'rate' ? `${level}/s` : `${level} clients`;
      say(`point ${label}: ${describeWorkload(w)}, ${o.warmupS} s warm-up`);
      points.push({ label, ...(o.mode === 'rate' ? { rate: level } : {}), ...(o.mode === 'concurrency' ? { concurrency: level } : {}), workload: describeWorkload(w), stats: await runPoint(o, w, models, pool, connections, label) });
      const s = points.at(-1)!.stats;
      say(`point ${label}: ${s.throughputPerS.toFixed(1)}/s ok, p99 ${s.latencyMs?.p99.toFixed(1) ?? '–'} ms, ${s.errorCount} errors`);
    }
  } finally {
    await pool.close();
  }
  return {
    tool: 'shoal bench', schema: 1, startedAt, ...(command ? { command } : {}),
    target: { url: o.url, binary: o.binary, models: [...models.values()].map((m) => ({ name: m.name, path: m.path, inputs: m.inputs, requestBytes: m.requests[0]?.body.length ?? 0 })) },
    settings: {
      mode: o.mode, ...(o.mode === 'rate' ? { arrival: o.arrival, ...(o.arrival === 'gamma' ? { cv: o.cv } : {}) } : {}),
      popularity: o.popularity, seed: o.seed, durationS: o.durationS, warmupS: o.warmupS,
      ...(o.sloMs !== undefined ? { sloMs: o.sloMs } : {}), ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
      ...(o.headers && Object.keys(o.headers).length > 0 ? { headers: Object.keys(o.headers) } : {}),
      connections, timeoutMs: o.timeoutMs,
    },
    points,
  };
}

async function runPoint(o: BenchOptions, w: Workload, models: Map<string, PreparedModel>, pool: LoadContext['pool'], connections: number, label: string): Promise<PointStats> {
  const warmupMs = o.warmupS * 1000;
  const totalMs = workloadDurationMs(w);
  // A trace's last row sits at its end, so the window closes just after it.
  const windowEndMs = w.kind === 'trace' ? totalMs + 1 : totalMs;
  if (windowEndMs <= warmupMs) throw new Error(`the trace lasts ${(totalMs / 1000).toFixed(1)} s, no longer than the ${o.warmupS} s warm-up; pass a shorter --warmup`);
  const recorder = new Recorder({
    windowStartMs: warmupMs, windowEndMs, binMs: binMsFor(totalMs, w.kind === 'open' ? w.process.ratePerS : undefined), connections, closedLoop: w.kind === 'closed',
    ...(o.sloMs !== undefined ? { sloMs: o.sloMs } : {}),
  });
  const t0 = performance.now();
  o.onPointStart?.(t0);
  const ctx: LoadContext = { pool, models, recorder, now: () => performance.now() - t0 };
  const ticker = totalMs >= 5000 && o.progress ? setInterval(() => {
    const p = recorder.progress();
    o.progress!(`  ${label} ${(ctx.now() / 1000).toFixed(0)}/${(totalMs / 1000).toFixed(0)} s: sent ${p.sent}, ok ${p.ok}, errors ${p.errors}, in flight ${recorder.inFlightNow}, p99 so far ${p.p99Ms?.toFixed(1) ?? '–'} ms`);
  }, 2000) : undefined;
  try {
    if (w.kind === 'closed') {
      await closedLoop({ concurrency: w.concurrency, models: w.models, popularity: w.popularity, endMs: totalMs, seed: o.seed, ...(w.deadlineMs !== undefined ? { deadlineMs: w.deadlineMs } : {}) }, ctx);
    } else await openLoop(workloadArrivals(w, o.seed), ctx);
  } finally {
    if (ticker) clearInterval(ticker);
  }
  const hasDeadlines = w.kind === 'trace' ? w.rows.some((r) => r.deadlineMs !== undefined) : w.deadlineMs !== undefined;
  return recorder.summary(hasDeadlines);
}
