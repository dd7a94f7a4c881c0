/**
 * The server under test, seen as any KServe v2 HTTP server: its model metadata, its config
 * where it has one (Triton, shoal), and one inference request sent and read to the end.
 */
import { type Dispatcher, Pool, request } from 'undici';
import type { ModelStatistics } from '../core/service.js';
import type { Tensor } from '../core/tensor.js';
import { encodeBinary, encodeJson, randomTensor, type EncodedRequest } from './payload.js';
import { substream } from './random.js';
import { concreteShapes, type InputSpec, type ModelMetadata, type ShapeOptions } from './shapes.js';

export interface Endpoint {
  /** scheme://host:port */
  origin: string;
  /** Any path prefix the server sits under, without a trailing slash. */
  prefix: string;
}

export function endpoint(url: string): Endpoint {
  const u = new URL(url);
  return { origin: u.origin, prefix: u.pathname.replace(/\/+$/, '') };
}

export function modelPath(e: Endpoint, model: string, version?: string): string {
  return `${e.prefix}/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}`;
}

/** Extra request headers (`--header`), names in lower case: an `authorization` with an API key, a routing header for a proxy. */
export type ExtraHeaders = Readonly<Record<string, string>>;

async function getJson(e: Endpoint, path: string, headers?: ExtraHeaders): Promise<{ status: number; json: unknown }> {
  const res = await request(e.origin + path, { headersTimeout: 10_000, bodyTimeout: 10_000, ...(headers ? { headers: { ...headers } } : {}) });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json };
}

export async function fetchMetadata(e: Endpoint, model: string, version?: string, headers?: ExtraHeaders): Promise<ModelMetadata> {
  const path = modelPath(e, model, version);
  const { status, json } = await getJson(e, path, headers);
  if (status !== 200) throw new Error(`GET ${path}: HTTP ${status} ${JSON.stringify(json).slice(0, 200)}`);
  return json as ModelMetadata;
}

/** max_batch_size from the config extension; undefined when the server has none. */
export async function fetchMaxBatchSize(e: Endpoint, model: string, version?: string, headers?: ExtraHeaders): Promise<number | undefined> {
  try {
    const { status, json } = await getJson(e, `${modelPath(e, model, version)}/config`, headers);
    const v = status === 200 ? (json as { max_batch_size?: unknown }).max_batch_size : undefined;
    return typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The model version's statistics extension entry; undefined when the server has none. */
export async function fetchModelStats(e: Endpoint, model: string, version?: string, headers?: ExtraHeaders): Promise<ModelStatistics | undefined> {
  try {
    const { status, json } = await getJson(e, `${modelPath(e, model, version)}/stats`, headers);
    return status === 200 ? (json as { model_stats?: ModelStatistics[] }).model_stats?.[0] : undefined;
  } catch {
    return undefined;
  }
}

export interface PreparedModel {
  name: string;
  path: string;
  inputs: InputSpec[];
  /** Distinct bodies, cycled through so a server cannot answer from a one-entry cache. */
  requests: EncodedRequest[];
}

export interface PrepareOptions extends Omit<ShapeOptions, 'maxBatchSize'> {
  version?: string;
  binary: boolean;
  seed: number;
  intRange: readonly [number, number];
  /** Requests from --input-data for this model, if any. */
  data?: Tensor[][];
  variants: number;
  /** Sent with the metadata requests and every inference request. */
  headers?: ExtraHeaders;
}

/**
 * `req` with `extra` headers added. The encoding's own headers (content type, binary header
 * length) win over extra ones of the same name, so the body stays readable.
 */
export function withHeaders(req: EncodedRequest, extra: ExtraHeaders | undefined): EncodedRequest {
  return extra && Object.keys(extra).length > 0 ? { ...req, headers: { ...extra, ...req.headers } } : req;
}

export async function prepareModel(e: Endpoint, model: string, o: PrepareOptions): Promise<PreparedModel> {
  const path = `${modelPath(e, model, o.version)}/infer`;
  const encode = (tensors: Tensor[]): EncodedRequest => withHeaders((o.binary ? encodeBinary : encodeJson)(tensors), o.headers);
  if (o.data && o.data.length > 0) {
    const inputs = o.data[0]!.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
    return { name: model, path, inputs, requests: o.data.map((tensors) => encode(tensors)) };
  }
  const meta = await fetchMetadata(e, model, o.version, o.headers);
  const maxBatchSize = await fetchMaxBatchSize(e, model, o.version, o.headers);
  const inputs = concreteShapes(meta, { ...o, maxBatchSize });
  const r = substream(o.seed, `inputs:${model}`);
  const requests = Array.from({ length: o.variants }, () => encode(inputs.map((spec) => randomTensor(spec, r, o.intRange))));
  return { name: model, path, inputs, requests };
}

export function connectionPool(e: Endpoint, connections: number, timeoutMs: number): Pool {
  return new Pool(e.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
}

export type Outcome = { ok: true; bytes: number } | { ok: false; kind: string; detail: string };

/** Bytes of a failed reply's body kept for the report. */
const DETAIL_BYTES = 200;

/**
 * Sends one request and reads the reply to its end, so the time counted covers the whole answer.
 *
 * Through undici's dispatch handlers rather than `request`: `request` makes a Readable stream
 * and a chain of promises for every reply, and at thousands of requests a second on the
 * server's own machine the generator's CPU is taken from the server it measures.
 */
export function sendInfer(pool: Dispatcher, path: string, req: EncodedRequest): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let status = 0;
    let bytes = 0;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    const handler: Dispatcher.DispatchHandler = {
      // Its presence is how undici tells this handler's kind from the older callback style.
      onRequestStart() {},
      onResponseStart(_controller, statusCode) {
        status = statusCode;
      },
      onResponseData(_controller, chunk) {
        bytes += chunk.length;
        if (status !== 200 && keptBytes < DETAIL_BYTES) {
          // Copied: undici's chunks view the socket's read buffer, which is not ours to keep.
          const part = Buffer.from(chunk.subarray(0, DETAIL_BYTES - keptBytes));
          kept.push(part);
          keptBytes += part.length;
        }
      },
      onResponseEnd() {
        if (status === 200) resolve({ ok: true, bytes });
        else resolve({ ok: false, kind: `HTTP ${status}`, detail: Buffer.concat(kept).toString('utf8').slice(0, DETAIL_BYTES) });
      },
      onResponseError(_controller, err) {
        resolve({ ok: false, kind: errorKind(err), detail: err.message ?? String(err) });
      },
    };
    try {
      pool.dispatch({ method: 'POST', path, headers: req.headers, body: req.body }, handler);
    } catch (err) {
      resolve({ ok: false, kind: errorKind(err), detail: (err as Error).message ?? String(err) });
    }
  });
}

const LOAD_REFUSALS = new Set(['HTTP 429', 'HTTP 503']);

/** How long the preflight keeps requests going to warm the code paths on both sides. */
const WARM_CODE_MS = 300;

/**
 * Before time zero: open the connections (with cheap health checks, so a slow model does not
 * make this take minutes) and send each model one request. Cold connections and cold code on
 * either side otherwise pile a backlog into the first second that warm-up may not absorb;
 * and a request the server refuses outright is better reported now than as N errors.
 */
export async function preflight(pool: Pool, e: Endpoint, models: PreparedModel[], connections: number, headers?: ExtraHeaders): Promise<void> {
  const open = Math.min(connections, 64);
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: open }, async () => {
      try {
        const res = await pool.request({ method: 'GET', path: `${e.prefix}/v2/health/live`, ...(headers ? { headers: { ...headers } } : {}) });
        await res.body.dump();
      } catch {
        // Only the connection mattered.
      }
    }));
  }
  for (const m of models) {
    const o = await sendInfer(pool, m.path, m.requests[0]!);
    // A refusal for load (429, 503) says the server is there and busy, which is what an overload run measures.
    if (!o.ok && !LOAD_REFUSALS.has(o.kind)) throw new Error(`model '${m.name}': the first request failed (${o.kind}): ${o.detail}`);
  }
  // Warm the request path's code on both sides for a moment, bounded in time so slow models cost little.
  const stopAt = performance.now() + WARM_CODE_MS;
  let k = 0;
  await Promise.all(Array.from({ length: Math.min(open, 8) }, async () => {
    while (performance.now() < stopAt) {
      const m = models[k++ % models.length]!;
      await sendInfer(pool, m.path, m.requests[k % m.requests.length]!);
    }
  }));
}

/** Network failures grouped the way an operator reads them, not by undici's class names. */
export function errorKind(err: unknown): string {
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return 'connection reset';
    default:
      return code ? `network ${code}` : 'network error';
  }
}
