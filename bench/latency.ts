/**
 * The two measurements of issue 2:
 * 1. the round trip of 16 FP32 values through the example `identity_fp32` model, via shoal
 *    with JSON and with binary tensors, and via the bare node:http baseline;
 * 2. shoal's event-loop lag while the CNN runs batches back to back.
 */
import type { Histogram } from 'hdr-histogram-js';
import { buildBinaryRequest, fp32Values, HEADER_LENGTH, parseInferReply, type InferReply } from './lib/binary.js';
import {
  closedLoop, concurrentLoad, newLatencyHistogram, send, singleConnection, summarize, verify,
  type LatencySummary, type Reply, type RequestSpec,
} from './lib/closed-loop.js';
import { IDENTITY_MODEL } from './lib/bench-models.js';
import { bucketQuantile, diffHistogram, parseHistogram, type HistogramSnapshot } from './lib/prometheus.js';

// ---------------------------------------------------------------------------------------
// Round trip

export const TARGETS = ['shoal-json', 'shoal-binary', 'bare-json'] as const;
export type TargetName = (typeof TARGETS)[number];

export interface RoundTripOptions {
  rounds: number;
  requestsPerRound: number;
  /** Per target, once, before the first round. */
  warmup: number;
}

export interface RoundTripResult {
  options: RoundTripOptions;
  /** All rounds pooled, per target. */
  latency: Record<TargetName, LatencySummary>;
  /** Pooled median of shoal over pooled median of bare. */
  ratio: { json: number; binary: number };
  /** The same ratio round by round, to show how much noise moved it. */
  roundRatios: { json: number[]; binary: number[] };
}

const IDENTITY_PATH = `/v2/models/${IDENTITY_MODEL}/infer`;

function decode(reply: Reply): InferReply {
  if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${reply.body.toString('utf8').slice(0, 300)}`);
  return parseInferReply(reply.body, reply.headers[HEADER_LENGTH]);
}

/** The reply must echo exactly what was sent, or a broken server could look fast. */
function expectEcho(sent: Float32Array, wantBinary: boolean): (reply: Reply) => void {
  return (reply) => {
    const out = decode(reply).outputs.find((o) => o.name === 'OUTPUT_FP32');
    if (!out) throw new Error('reply has no OUTPUT_FP32');
    if (out.datatype !== 'FP32' || out.shape.join() !== String(sent.length)) {
      throw new Error(`OUTPUT_FP32 is ${out.datatype}${JSON.stringify(out.shape)}, expected FP32[${sent.length}]`);
    }
    if (wantBinary !== (out.bytes !== undefined)) throw new Error(`OUTPUT_FP32 came as ${out.bytes ? 'binary' : 'JSON'}`);
    const got = fp32Values(out);
    if (got.length !== sent.length || got.some((v, i) => v !== sent[i])) {
      throw new Error(`OUTPUT_FP32 does not echo the input: sent ${sent.slice(0, 3).join()}…, got ${got.slice(0, 3).join()}…`);
    }
  };
}

function identitySpecs(values: Float32Array): Record<TargetName, RequestSpec> {
  // Float32 values written as doubles survive JSON → float32 → JSON unchanged, so the echo can be compared exactly.
  const json = JSON.stringify({ inputs: [{ name: 'INPUT_FP32', datatype: 'FP32', shape: [values.length], data: Array.from(values) }] });
  const jsonSpec = { path: IDENTITY_PATH, headers: { 'content-type': 'application/json' }, body: json, check: expectEcho(values, false) };
  const binary = buildBinaryRequest([{ name: 'INPUT_FP32', datatype: 'FP32', shape: [values.length], data: values }], { binaryOutput: true });
  return {
    'shoal-json': jsonSpec,
    'shoal-binary': { path: IDENTITY_PATH, ...binary, check: expectEcho(values, true) },
    'bare-json': jsonSpec,
  };
}

/**
 * Rounds alternate between the three targets, and the order rotates each round, so a burst
 * of noise from the shared machine lands on all of them rather than on one.
 */
export async function roundTrip(urls: { shoal: string; bare: string }, opts: RoundTripOptions): Promise<RoundTripResult> {
  const values = Float32Array.from({ length: 16 }, () => Math.random() * 2 - 1);
  const specs = identitySpecs(values);
  const urlOf = (t: TargetName): string => (t === 'bare-json' ? urls.bare : urls.shoal);
  // One connection per target, kept alive across rounds.
  const clients = Object.fromEntries(TARGETS.map((t) => [t, singleConnection(urlOf(t))])) as Record<TargetName, ReturnType<typeof singleConnection>>;
  const pooled = Object.fromEntries(TARGETS.map((t) => [t, newLatencyHistogram()])) as Record<TargetName, Histogram>;
  const elapsed = Object.fromEntries(TARGETS.map((t) => [t, 0n])) as Record<TargetName, bigint>;
  const roundRatios = { json: [] as number[], binary: [] as number[] };
  try {
    // Warm-up only: nothing is recorded.
    for (const t of TARGETS) await closedLoop(clients[t], specs[t], { warmup: opts.warmup, requests: 0 }, pooled[t]);
    for (let r = 0; r < opts.rounds; r++) {
      const medians = {} as Record<TargetName, number>;
      for (let k = 0; k < TARGETS.length; k++) {
        const t = TARGETS[(r + k) % TARGETS.length]!;
        const h = newLatencyHistogram();
        const { elapsedNs } = await closedLoop(clients[t], specs[t], { warmup: 0, requests: opts.requestsPerRound }, h);
        pooled[t].add(h);
        elapsed[t] += elapsedNs;
        medians[t] = h.getValueAtPercentile(50);
      }
      roundRatios.json.push(medians['shoal-json'] / medians['bare-json']);
      roundRatios.binary.push(medians['shoal-binary'] / medians['bare-json']);
    }
  } finally {
    await Promise.all(TARGETS.map((t) => clients[t].close()));
  }
  const latency = Object.fromEntries(TARGETS.map((t) => [t, summarize(pooled[t], elapsed[t])])) as Record<TargetName, LatencySummary>;
  return {
    options: opts,
    latency,
    ratio: {
      json: latency['shoal-json'].p50Ms / latency['bare-json'].p50Ms,
      binary: latency['shoal-binary'].p50Ms / latency['bare-json'].p50Ms,
    },
    roundRatios,
  };
}

// ---------------------------------------------------------------------------------------
// Event-loop lag under CNN load

export const LAG_METRIC = 'shoal_event_loop_lag_seconds';

export interface LagOptions {
  model: string;
  batch: number;
  connections: number;
  durationMs: number;
}

export interface LagResult {
  options: LagOptions;
  requests: number;
  inferencesPerSecond: number;
  /** Lag samples the server took during the run. */
  samples: number;
  meanLagS: number;
  /** Upper bounds of the buckets holding p50 and p99 (Infinity: past the last finite bucket). */
  p50LagLeS: number | undefined;
  p99LagLeS: number | undefined;
  /** The largest finite bucket bound, to say what an Infinity above means. */
  lastFiniteLeS: number;
}

interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function scrapeLag(shoalUrl: string): Promise<HistogramSnapshot> {
  const res = await fetch(`${shoalUrl}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const h = parseHistogram(text, LAG_METRIC);
  if (!h) throw new Error(`/metrics has no ${LAG_METRIC} histogram`);
  return h;
}

/** Binary requests with random inputs, shaped from the model's metadata. */
async function cnnSpecs(shoalUrl: string, model: string, batch: number, distinct: number): Promise<RequestSpec[]> {
  const meta = await getJson<{ inputs: TensorMeta[]; outputs: TensorMeta[] }>(`${shoalUrl}/v2/models/${model}`);
  const input = meta.inputs[0];
  if (!input || meta.inputs.length !== 1 || input.datatype !== 'FP32') {
    throw new Error(`${model}: expected one FP32 input, metadata says ${JSON.stringify(meta.inputs)}`);
  }
  const shape = input.shape.map((d, i) => (i === 0 ? batch : d));
  if (shape.some((d) => d < 0)) throw new Error(`${model}: input shape ${JSON.stringify(input.shape)} has variable inner dims`);
  const size = shape.reduce((a, b) => a * b, 1);
  const check = (reply: Reply): void => {
    const out = decode(reply).outputs[0];
    if (!out || out.shape[0] !== batch) throw new Error(`${model}: expected an output of batch ${batch}, got ${JSON.stringify(out?.shape)}`);
  };
  return Array.from({ length: distinct }, () => {
    const data = Float32Array.from({ length: size }, () => Math.random());
    const req = buildBinaryRequest([{ name: input.name, datatype: 'FP32', shape, data }], { binaryOutput: true });
    return { path: `/v2/models/${model}/infer`, ...req, check };
  });
}

/**
 * Several connections keep the model busy with back-to-back batches while the server's own
 * lag histogram records how late its timers fire; scrapes before and after bound the window.
 */
export async function cnnLag(shoalUrl: string, opts: LagOptions): Promise<LagResult> {
  const specs = await cnnSpecs(shoalUrl, opts.model, opts.batch, 8);
  // One checked request first, so a broken model fails here, and its load time stays out of the window.
  const probe = singleConnection(shoalUrl);
  try {
    const first = specs[0]!;
    verify(first, await send(probe, first));
  } finally {
    await probe.close();
  }
  const before = await scrapeLag(shoalUrl);
  const load = await concurrentLoad(shoalUrl, specs, { connections: opts.connections, durationMs: opts.durationMs });
  const lag = diffHistogram(await scrapeLag(shoalUrl), before);
  return {
    options: opts,
    requests: load.requests,
    inferencesPerSecond: (load.requests * opts.batch) / load.elapsedS,
    samples: lag.count,
    meanLagS: lag.count > 0 ? lag.sum / lag.count : NaN,
    p50LagLeS: bucketQuantile(lag, 0.5),
    p99LagLeS: bucketQuantile(lag, 0.99),
    lastFiniteLeS: lag.buckets.filter((b) => Number.isFinite(b.le)).at(-1)?.le ?? 0,
  };
}
