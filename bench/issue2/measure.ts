/**
 * The two measurements of issue 2, both taken with `shoal bench`'s closed loop:
 * 1. the round trip of 16 FP32 values through the example `identity_fp32` model, via shoal
 *    with JSON and with binary tensors, and via the bare node:http baseline;
 * 2. shoal's event-loop lag while the CNN runs batches back to back.
 */
import { request } from 'undici';
import type { Tensor } from '../../src/core/tensor.js';
import { encodeBinary, encodeJson } from '../../src/bench/payload.js';
import type { PointStats } from '../../src/bench/recorder.js';
import { fp32Values, HEADER_LENGTH, parseInferReply } from '../lib/binary.js';
import { IDENTITY_MODEL } from '../lib/bench-models.js';
import { measure, trouble } from '../lib/measure.js';
import { bucketQuantile, diffHistogram, parseHistogram, type HistogramSnapshot } from '../lib/prometheus.js';

// ---------------------------------------------------------------------------------------
// Round trip

/**
 * naive-json is a reference, not judged: node:http calling onnxruntime on the event loop for
 * every request (bench/baselines/naive-server.ts). Its ratio to bare is the part of the round
 * trip that running the model at all costs, which no server can go below.
 */
export const TARGETS = ['shoal-json', 'shoal-binary', 'bare-json', 'naive-json'] as const;
export type TargetName = (typeof TARGETS)[number];

export interface RoundTripOptions {
  rounds: number;
  /** Measured seconds per target per round. */
  roundS: number;
  /** Warm-up seconds per target per round (the generator's preflight warms the code too). */
  warmupS: number;
}

export interface RoundFigures { p50Ms: number; p90Ms: number; p99Ms: number; meanMs: number; perSecond: number; count: number }

export interface RoundTripResult {
  options: RoundTripOptions;
  /** Per target, each figure the median of that figure over the rounds; count is the total. */
  latency: Record<TargetName, RoundFigures>;
  /** Median over rounds of shoal's p50 ÷ bare's p50 in the same round: the judged figure. */
  ratio: { json: number; binary: number; naive: number };
  roundRatios: { json: number[]; binary: number[]; naive: number[] };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The reply must echo exactly what was sent, or a broken server could look fast. The timed
 * loop only counts bytes, so each request body is sent once more outside it and its answer
 * compared value by value, before and after the measured rounds.
 */
async function checkEcho(url: string, inputs: Tensor[][], binary: boolean): Promise<void> {
  for (const tensors of inputs) {
    const req = binary ? encodeBinary(tensors) : encodeJson(tensors);
    const res = await request(`${url}/v2/models/${IDENTITY_MODEL}/infer`, { method: 'POST', headers: req.headers, body: req.body });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}: ${body.toString('utf8').slice(0, 300)}`);
    const out = parseInferReply(body, res.headers[HEADER_LENGTH]).outputs.find((o) => o.name === 'OUTPUT_FP32');
    const sent = tensors[0]!.data as Float32Array;
    if (!out || out.datatype !== 'FP32' || out.shape.join() !== String(sent.length)) throw new Error(`${url}: OUTPUT_FP32 is missing or misshaped: ${JSON.stringify(out?.shape)}`);
    if (binary !== (out.bytes !== undefined)) throw new Error(`${url}: OUTPUT_FP32 came as ${out.bytes ? 'binary' : 'JSON'}`);
    const got = fp32Values(out);
    if (got.some((v, i) => v !== sent[i])) throw new Error(`${url}: OUTPUT_FP32 does not echo the input`);
  }
}

function identityInputs(): Tensor[][] {
  // Float32 values written as doubles survive JSON → float32 → JSON unchanged, so the echo can be compared exactly.
  return Array.from({ length: 16 }, () => [{ name: 'INPUT_FP32', datatype: 'FP32', shape: [16], data: Float32Array.from({ length: 16 }, () => Math.random() * 2 - 1) }]);
}

/**
 * Rounds alternate between the targets, and the order rotates each round, so a burst
 * of noise from the shared machine lands on all of them rather than on one; the ratio is
 * taken within each round and the median of those reported.
 */
export async function roundTrip(urls: { shoal: string; bare: string; naive: string }, opts: RoundTripOptions): Promise<RoundTripResult> {
  const inputs = identityInputs();
  const urlOf = (t: TargetName): string => (t === 'bare-json' ? urls.bare : t === 'naive-json' ? urls.naive : urls.shoal);
  const binaryOf = (t: TargetName): boolean => t === 'shoal-binary';
  for (const t of TARGETS) await checkEcho(urlOf(t), inputs, binaryOf(t));
  const rounds = Object.fromEntries(TARGETS.map((t) => [t, [] as PointStats[]])) as Record<TargetName, PointStats[]>;
  const roundRatios = { json: [] as number[], binary: [] as number[], naive: [] as number[] };
  for (let r = 0; r < opts.rounds; r++) {
    for (let k = 0; k < TARGETS.length; k++) {
      const t = TARGETS[(r + k) % TARGETS.length]!;
      const s = await measure({ url: urlOf(t), model: IDENTITY_MODEL, mode: 'concurrency', level: 1, durationS: opts.roundS, warmupS: opts.warmupS, binary: binaryOf(t), inputs });
      const bad = trouble(s);
      if (bad || !s.latencyMs) throw new Error(`${t}: ${bad ?? 'no answers'}`);
      rounds[t].push(s);
    }
    const p50 = (t: TargetName): number => rounds[t].at(-1)!.latencyMs!.p50;
    roundRatios.json.push(p50('shoal-json') / p50('bare-json'));
    roundRatios.binary.push(p50('shoal-binary') / p50('bare-json'));
    roundRatios.naive.push(p50('naive-json') / p50('bare-json'));
  }
  for (const t of TARGETS) await checkEcho(urlOf(t), inputs, binaryOf(t));
  const figures = (ss: PointStats[]): RoundFigures => ({
    p50Ms: median(ss.map((s) => s.latencyMs!.p50)),
    p90Ms: median(ss.map((s) => s.latencyMs!.p90)),
    p99Ms: median(ss.map((s) => s.latencyMs!.p99)),
    meanMs: median(ss.map((s) => s.latencyMs!.mean)),
    perSecond: median(ss.map((s) => s.throughputPerS)),
    count: ss.reduce((a, s) => a + s.ok, 0),
  });
  const latency = Object.fromEntries(TARGETS.map((t) => [t, figures(rounds[t])])) as Record<TargetName, RoundFigures>;
  return { options: opts, latency, ratio: { json: median(roundRatios.json), binary: median(roundRatios.binary), naive: median(roundRatios.naive) }, roundRatios };
}

// ---------------------------------------------------------------------------------------
// Event-loop lag under CNN load

export const LAG_METRIC = 'shoal_event_loop_lag_seconds';

export interface LagOptions {
  model: string;
  batch: number;
  connections: number;
  durationS: number;
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

async function scrapeLag(shoalUrl: string): Promise<HistogramSnapshot> {
  const res = await fetch(`${shoalUrl}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const h = parseHistogram(text, LAG_METRIC);
  if (!h) throw new Error(`/metrics has no ${LAG_METRIC} histogram`);
  return h;
}

/**
 * A closed loop of several clients keeps the model busy with back-to-back batches while the
 * server's own lag histogram records how late its timers fire; scrapes when the load starts
 * (after the generator's preflight) and after it ends bound the window.
 */
export async function cnnLag(shoalUrl: string, opts: LagOptions): Promise<LagResult> {
  let before: Promise<HistogramSnapshot> | undefined;
  const s = await measure({
    url: shoalUrl, model: opts.model, mode: 'concurrency', level: opts.connections, durationS: opts.durationS, warmupS: 0,
    binary: true, batch: opts.batch, onPointStart: () => (before = scrapeLag(shoalUrl)),
  });
  const bad = trouble(s);
  if (bad) throw new Error(`${opts.model} batch ${opts.batch}: ${bad}`);
  const lag = diffHistogram(await scrapeLag(shoalUrl), await before!);
  return {
    options: opts,
    requests: s.ok,
    inferencesPerSecond: s.throughputPerS * opts.batch,
    samples: lag.count,
    meanLagS: lag.count > 0 ? lag.sum / lag.count : NaN,
    p50LagLeS: bucketQuantile(lag, 0.5),
    p99LagLeS: bucketQuantile(lag, 0.99),
    lastFiniteLeS: lag.buckets.filter((b) => Number.isFinite(b.le)).at(-1)?.le ?? 0,
  };
}
