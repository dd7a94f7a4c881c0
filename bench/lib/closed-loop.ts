/**
 * Closed-loop load with undici: each connection sends its next request only when the last
 * reply is fully read, so the figures are round-trip latencies, free of client-side queueing.
 */
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { Client, Pool } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';

export interface RequestSpec {
  path: string;
  headers: Record<string, string>;
  body: Buffer | string;
  /** Throws if the reply is wrong; called outside the timed window. */
  check?: (reply: Reply) => void;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Dispatcher = Client | Pool;

/** Runs the spec's check, naming the request in any failure. */
export function verify(spec: RequestSpec, reply: Reply): void {
  try {
    spec.check?.(reply);
  } catch (err) {
    throw new Error(`POST ${spec.path}: ${(err as Error).message}`, { cause: err });
  }
}

export async function send(dispatcher: Dispatcher, spec: RequestSpec): Promise<Reply> {
  const res = await dispatcher.request({ method: 'POST', path: spec.path, headers: spec.headers, body: spec.body });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

/** One keep-alive connection, one request in flight at a time. */
export function singleConnection(url: string): Client {
  return new Client(url, { pipelining: 1, keepAliveTimeout: 120_000 });
}

/** Latencies in microseconds: fine enough for loopback, wide enough for a stalled request. */
export function newLatencyHistogram(): Histogram {
  return buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

export interface LoopOptions {
  /** Requests sent first and not recorded (connection set-up, JIT, caches). */
  warmup: number;
  /** Stop after this many recorded requests... */
  requests?: number;
  /** ...or after this long, whichever comes first. */
  durationMs?: number;
}

/** Sends requests one after another, recording each round trip into `into`; returns the time spent recording. */
export async function closedLoop(client: Client, spec: RequestSpec, opts: LoopOptions, into: Histogram): Promise<{ count: number; elapsedNs: bigint }> {
  for (let i = 0; i < opts.warmup; i++) verify(spec, await send(client, spec));
  const maxRequests = opts.requests ?? Infinity;
  const stopAt = opts.durationMs === undefined ? Infinity : Date.now() + opts.durationMs;
  if (maxRequests === Infinity && stopAt === Infinity) throw new Error('closedLoop needs requests or durationMs');
  let count = 0;
  let elapsedNs = 0n;
  while (count < maxRequests && Date.now() < stopAt) {
    const t0 = process.hrtime.bigint();
    const reply = await send(client, spec);
    const dt = process.hrtime.bigint() - t0;
    into.recordValue(Number(dt / 1000n));
    elapsedNs += dt;
    count++;
    verify(spec, reply);
  }
  return { count, elapsedNs };
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** Requests per second of time spent waiting on replies (one connection). */
  perSecond: number;
}

export function summarize(h: Histogram, elapsedNs: bigint): LatencySummary {
  const ms = (us: number): number => us / 1000;
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    meanMs: ms(h.mean),
    maxMs: ms(h.maxValue),
    perSecond: elapsedNs > 0n ? h.totalCount / (Number(elapsedNs) / 1e9) : 0,
  };
}

export interface LoadResult {
  requests: number;
  elapsedS: number;
}

/**
 * `connections` closed loops side by side for `durationMs`, cycling through `specs`.
 * Every reply is checked; the first failure stops the run.
 */
export async function concurrentLoad(url: string, specs: RequestSpec[], opts: { connections: number; durationMs: number }): Promise<LoadResult> {
  if (specs.length === 0) throw new Error('concurrentLoad needs at least one request');
  const pool = new Pool(url, { connections: opts.connections, pipelining: 1, keepAliveTimeout: 120_000 });
  const started = process.hrtime.bigint();
  const stopAt = Date.now() + opts.durationMs;
  let requests = 0;
  try {
    const worker = async (offset: number): Promise<void> => {
      for (let i = offset; Date.now() < stopAt; i++) {
        const spec = specs[i % specs.length]!;
        verify(spec, await send(pool, spec));
        requests++;
      }
    };
    await Promise.all(Array.from({ length: opts.connections }, (_, k) => worker(k)));
  } finally {
    await pool.close();
  }
  return { requests, elapsedS: Number(process.hrtime.bigint() - started) / 1e9 };
}
