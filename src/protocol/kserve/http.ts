/**
 * The KServe v2 HTTP/REST API (health, metadata, inference) with Triton's binary tensor
 * data, model repository, model configuration and statistics extensions, on fastify.
 *
 * Only translation lives here: URL and body in, InferenceService call, status and body out.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { ShoalError, invalid, notFound } from '../../core/errors.js';
import type { InferRequest, Parameters, RequestedOutput, TenantIdentity } from '../../core/request.js';
import type { InferenceService, ModelMetadata } from '../../core/service.js';
import type { Tensor, TensorSpec } from '../../core/tensor.js';
import { type TenantAuth, requireAdmin, requireKeys, tenantOf } from './auth.js';
import { ownsMemory, readBody } from './body.js';
import { decodeInferRequest } from './decode.js';
import { encodeInferResponse } from './encode.js';
import { installErrorHandlers, sendError } from './http-errors.js';
import { JsonSyntaxError, describe, parseJsonExact } from './json.js';
import type { Limits } from './limits.js';
import { checkModelName } from './names.js';

export { checkModelName } from './names.js';
export type { Limits } from './limits.js';

/** What became of one inference request, for metrics and access logs. */
export interface InferDone {
  model: string;
  version?: string;
  traceId: string;
  /** HTTP status sent. */
  status: number;
  /** Set when the request failed; its message is what the client was told. */
  error?: string;
  /** Clock times (ms) the request arrived and its reply was handed to the socket. */
  arrivalTime: number;
  endTime: number;
  requestBytes: number;
  responseBytes: number;
  /** Set when it failed: the error's kind, and the reason a policy refused it (rate_limit, queue_full, …). */
  errorKind?: string;
  reason?: string;
  /** The tenant it was sent as, on a server with tenants. */
  tenant?: string;
}

export interface KServeRouteOptions {
  limits: Limits;
  clock: Clock;
  /** Trace id for a new inference request; by default fastify's request id, so logs and traces agree. */
  newTraceId?: () => string;
  /** Called once per inference request, failed ones included; must not throw (it is logged if it does). */
  onInferDone?: (done: InferDone) => void;
  /**
   * API keys and tenants: every route but the health checks then needs a key, a tenant sees
   * only the models it may use, and only admin tenants may load or unload. Absent: open.
   */
  auth?: TenantAuth;
  /**
   * Estimated ms a request waited, unread, before the event loop got to it: its arrival is
   * taken that much before the headers were read, so that its deadline and queue timeout count
   * from when it reached the host, as its client's do. Absent: 0.
   */
  unseenWaitMs?: () => number;
}

interface ModelParams {
  model: string;
  version?: string;
}

const EMPTY = Buffer.alloc(0);

const ARRIVAL = 'kserveArrivalTime';
type ArrivalStamped = FastifyRequest & { [ARRIVAL]: number };

/**
 * Adds the routes to `app`. Also installs app-wide error and not-found handlers so that every
 * error, fastify's included, reaches the client as `{"error": "..."}`.
 *
 * Create the app with `routerOptions: { maxParamLength: 256 }` or more: at fastify's default
 * of 100, longer model names are refused by the router (414, in fastify's own error format)
 * before checkModelName can explain why.
 */
export function registerKServeRoutes(app: FastifyInstance, service: InferenceService, opts: KServeRouteOptions): void {
  installErrorHandlers(app);
  // A child scope, so that taking every body as raw bytes does not change parsing for
  // routes others add to the same app.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (request, payload, done) => {
      readBody(payload, { limit: request.routeOptions.bodyLimit, ...declaredLengths(request) }, done);
    });
    routes(scope, service, opts);
  });
}

function routes(app: FastifyInstance, service: InferenceService, opts: KServeRouteOptions): void {
  const versioned = (suffix: string): string[] => [`/v2/models/:model${suffix}`, `/v2/models/:model/versions/:version${suffix}`];
  const auth = opts.auth;
  if (auth) requireKeys(app, auth, new Set(['/v2/health/live', '/v2/health/ready']));
  /** The target of a per-model route; a model the tenant may not use is as unknown as one that does not exist. */
  const visible = (request: FastifyRequest<{ Params: ModelParams }>): { model: string; version?: string } => {
    const t = target(request.params);
    if (tenantOf(request)?.mayUse(t.model) === false) throw notFound(`unknown model '${t.model}'`);
    return t;
  };
  const mayUse = (request: FastifyRequest, model: string): boolean => tenantOf(request)?.mayUse(model) ?? true;

  app.get('/v2/health/live', async (_request, reply) => reply.code(service.live() ? 200 : 503).send());
  app.get('/v2/health/ready', async (_request, reply) => reply.code(service.ready() ? 200 : 503).send());
  app.get('/v2', async () => service.serverMetadata());

  // Static segments win over parameters in fastify's router, so a model named "stats" has no metadata route (as in Triton).
  app.get('/v2/models/stats', async (request) => ({ model_stats: service.modelStatistics().filter((s) => mayUse(request, s.name)) }));

  for (const url of versioned('')) {
    app.get<{ Params: ModelParams }>(url, async (request) => {
      const { model, version } = visible(request);
      return metadataJson(service.modelMetadata(model, version));
    });
  }
  for (const url of versioned('/ready')) {
    app.get<{ Params: ModelParams }>(url, async (request, reply) => {
      const { model, version } = visible(request);
      return reply.code(service.modelReady(model, version) ? 200 : 503).send();
    });
  }
  for (const url of versioned('/config')) {
    app.get<{ Params: ModelParams }>(url, async (request) => {
      const { model, version } = visible(request);
      return service.modelConfig(model, version);
    });
  }
  for (const url of versioned('/stats')) {
    app.get<{ Params: ModelParams }>(url, async (request) => {
      const { model, version } = visible(request);
      return { model_stats: service.modelStatistics(model, version) };
    });
  }

  // Arrival is taken before the body is read: reading a large body is part of the request's time.
  // It rides on the request in a slot fastify reserves for decorations.
  app.decorateRequest(ARRIVAL, 0);
  const unseenWaitMs = opts.unseenWaitMs ?? (() => 0);
  for (const url of versioned('/infer')) {
    app.post<{ Params: ModelParams }>(url, {
      onRequest: (request, _reply, done) => {
        (request as ArrivalStamped)[ARRIVAL] = opts.clock.now() - unseenWaitMs();
        done();
      },
    }, async (request, reply) => infer(request, reply, (request as ArrivalStamped)[ARRIVAL], service, opts));
  }

  app.post('/v2/repository/index', async (request) => {
    const ready = jsonBody(request.body, 'repository index request').ready;
    if (ready !== undefined && typeof ready !== 'boolean') throw invalid(`'ready' must be true or false, got ${describe(ready)}`);
    return service.repositoryIndex(ready === true).filter((e) => mayUse(request, e.name));
  });
  app.post<{ Params: ModelParams }>('/v2/repository/models/:model/load', async (request, reply) => {
    const tenant = tenantOf(request);
    if (auth && tenant && !requireAdmin(tenant, request, reply, auth)) return reply;
    const model = checkModelName(request.params.model);
    // Triton's "config" and "file:" overrides would replace the repository's files; shoal has none of that.
    rejectParameters(jsonBody(request.body, 'load request'), []);
    await service.loadModel(model);
    return reply.code(200).send();
  });
  app.post<{ Params: ModelParams }>('/v2/repository/models/:model/unload', async (request, reply) => {
    const tenant = tenantOf(request);
    if (auth && tenant && !requireAdmin(tenant, request, reply, auth)) return reply;
    const model = checkModelName(request.params.model);
    // Accepted and moot: shoal has no ensembles, so no model has dependents.
    rejectParameters(jsonBody(request.body, 'unload request'), ['unload_dependents']);
    await service.unloadModel(model);
    return reply.code(200).send();
  });
}

async function infer(
  request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply, arrivalTime: number,
  service: InferenceService, opts: KServeRouteOptions,
): Promise<FastifyReply> {
  const traceId = opts.newTraceId?.() ?? String(request.id);
  const body = Buffer.isBuffer(request.body) ? request.body : EMPTY;
  const done: InferDone = {
    model: request.params.model, traceId, status: 200, arrivalTime, endTime: arrivalTime,
    requestBytes: body.length, responseBytes: 0,
  };
  if (request.params.version !== undefined) done.version = request.params.version;
  const tenant = tenantOf(request);
  let admitted = false;
  try {
    if (tenant !== undefined) {
      done.tenant = tenant.name;
      // Before anything about the model: a refusal here must not depend on which model was named.
      opts.auth!.tenants.admit(tenant, opts.clock.now());
      admitted = true;
    }
    const { model, version } = target(request.params);
    const headerLength = parseHeaderLength(request.headers['inference-header-content-length']);
    const decoded = decodeInferRequest(body, headerLength, opts.limits, { model, version, arrivalTime, traceId });
    const inferRequest = new HttpInferRequest(decoded, reply.raw, ownsMemory(body.length));
    if (tenant !== undefined) inferRequest.tenant = tenant;
    const encoded = encodeInferResponse(await service.infer(inferRequest), inferRequest);
    done.responseBytes = typeof encoded.body === 'string' ? Buffer.byteLength(encoded.body) : encoded.body.length;
    void reply.type(encoded.contentType);
    if (encoded.headerLength !== undefined) void reply.header('inference-header-content-length', String(encoded.headerLength));
    return reply.send(encoded.body);
  } catch (err) {
    const sent = sendError(err, request, reply);
    done.status = sent.status;
    done.error = sent.message;
    done.errorKind = err instanceof ShoalError ? err.kind : 'internal';
    if (err instanceof ShoalError && err.reason !== undefined) done.reason = err.reason;
    return reply;
  } finally {
    if (admitted) opts.auth!.tenants.release(tenant!);
    done.endTime = opts.clock.now();
    if (opts.onInferDone !== undefined) {
      try {
        opts.onInferDone(done);
      } catch (err) {
        request.log.error({ err }, 'onInferDone failed');
      }
    }
  }
}

/**
 * The decoded request as the service gets it, with a `signal` that aborts when the client goes
 * away before its reply is written. It listens on the response: Node closes the request stream
 * as soon as the body has been read, so the request's own 'close' says nothing about the client.
 *
 * The signal is made on first read. On Node 20 an AbortSignal is dear (its constructor changes
 * an object's prototype; with the 'close' listener it measured 30–90 µs of event-loop CPU per
 * request in the closed-loop bench), and most requests are answered without anyone reading it:
 * the scheduler looks only at requests that wait in its queue. The accessor is on the class,
 * so every request shares its hidden class (one defined per object was measured and is worse).
 * Made late, the signal is the same: it starts aborted if the client left before it was read.
 */
class HttpInferRequest implements InferRequest {
  declare id?: string;
  model: string;
  declare version?: string;
  inputs: Tensor[];
  declare outputs?: RequestedOutput[];
  declare tenant?: TenantIdentity;
  parameters: Parameters;
  arrivalTime: number;
  traceId: string;
  #signal: AbortSignal | undefined;
  readonly #res: ServerResponse;
  /** Its body was read into memory of its own (body.ts: all but short ones), which the decoded tensors view, or they are new. */
  readonly inputsMovable: boolean;

  constructor(decoded: InferRequest, res: ServerResponse, inputsMovable: boolean) {
    this.inputsMovable = inputsMovable;
    if (decoded.id !== undefined) this.id = decoded.id;
    this.model = decoded.model;
    if (decoded.version !== undefined) this.version = decoded.version;
    this.inputs = decoded.inputs;
    if (decoded.outputs !== undefined) this.outputs = decoded.outputs;
    this.parameters = decoded.parameters;
    this.arrivalTime = decoded.arrivalTime;
    this.traceId = decoded.traceId;
    this.#signal = decoded.signal;
    this.#res = res;
  }

  get signal(): AbortSignal {
    return (this.#signal ??= abortOnDisconnect(this.#res));
  }

  /** The client closed the connection before its reply was written. Cheap: no signal is made. */
  get cancelled(): boolean {
    return (this.#res.destroyed && !this.#res.writableFinished) || this.#signal?.aborted === true;
  }

  set signal(signal: AbortSignal | undefined) {
    this.#signal = signal;
  }
}

function abortOnDisconnect(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort(new ShoalError('cancelled', 'the client disconnected'));
  };
  if (res.destroyed) onClose();
  else res.once('close', onClose);
  return controller.signal;
}

function target(params: ModelParams): { model: string; version?: string } {
  const model = checkModelName(params.model);
  if (params.version === undefined) return { model };
  return { model, version: checkModelName(params.version, 'model version') };
}



/** Content-Length and Inference-Header-Content-Length as readBody wants them; malformed ones are left for later checks to name. */
function declaredLengths(request: FastifyRequest): { contentLength?: number; binaryOffset?: number } {
  const out: { contentLength?: number; binaryOffset?: number } = {};
  const length = Number(request.headers['content-length']);
  if (Number.isSafeInteger(length) && length >= 0) out.contentLength = length;
  const header = request.headers['inference-header-content-length'];
  const offset = typeof header === 'string' ? Number(header) : NaN;
  if (Number.isSafeInteger(offset) && offset >= 0) out.binaryOffset = offset;
  return out;
}
function parseHeaderLength(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value.trim();
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw invalid(`Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Number(text);
}

/** The optional JSON object body of the repository routes; an empty body is `{}`. */
function jsonBody(body: unknown, what: string): Record<string, unknown> {
  if (!Buffer.isBuffer(body) || body.length === 0) return {};
  let v: unknown;
  try {
    v = parseJsonExact(body.toString('utf8'));
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw invalid(`malformed JSON in ${what}: ${e.message}`);
    throw e;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function rejectParameters(body: Record<string, unknown>, accepted: readonly string[]): void {
  const params = body.parameters;
  if (params === undefined) return;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw invalid("'parameters' must be an object");
  const unsupported = Object.keys(params).filter((k) => !accepted.includes(k));
  if (unsupported.length > 0) {
    throw invalid(`unsupported parameter${unsupported.length > 1 ? 's' : ''}: ${unsupported.map((k) => `'${k}'`).join(', ')}`);
  }
}

function metadataJson(m: ModelMetadata): Record<string, unknown> {
  const spec = (t: TensorSpec): Record<string, unknown> => ({ name: t.name, datatype: t.datatype, shape: t.dims });
  return { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs.map(spec), outputs: m.outputs.map(spec) };
}
