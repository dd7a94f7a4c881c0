import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import { OnnxBackend } from '../backends/onnx/onnx-backend.js';
import { systemClock } from '../core/clock.js';
import { type ModelControlMode, ModelManager } from '../models/model-manager.js';
import type { EvictionPolicyName } from '../models/eviction.js';
import { registerKServeRoutes } from '../protocol/kserve/http.js';
import { Lateness } from '../scheduling/lateness.js';
import { type TenantAuth, adminOnly } from '../protocol/kserve/auth.js';
import type { TenantsConfig } from '../tenants/config.js';
import { exposureProblem } from '../tenants/exposure.js';
import { Tenants } from '../tenants/tenants.js';
import type { Limits } from '../protocol/kserve/decode.js';
import { type CounterSeries, LAG_SAMPLE_MS, Metrics } from './metrics.js';
import { Service } from './service.js';
import { LogSampler, type Suppressed } from './log-sampler.js';

export interface ServerOptions {
  modelRepository: string;
  host: string;
  /** 0 picks a free port. */
  httpPort: number;
  /** Largest request body, in bytes. */
  bodyLimitBytes: number;
  limits: Limits;
  /** Requests waiting per model version before new ones are refused. */
  maxQueueSize: number;
  /** How long a stop waits for requests in flight. */
  drainTimeoutMs: number;
  logLevel: string;
  /** Where logs go; standard output by default. */
  logDestination?: NodeJS.WritableStream;
  /** API keys, model access, rate limits, quotas and weights (a tenants file). Absent: open, and then only on loopback. */
  tenants?: TenantsConfig;
  /** Serve without tenants on a non-loopback address; refused otherwise. */
  allowUnauthenticated?: boolean;
  /** Bytes all loaded models may take together (see src/models); no limit when absent. */
  memoryBudgetBytes?: number;
  /** 'none' (load all at start) unless given; the CLI defaults it to 'on-demand' with a memory budget. */
  modelControlMode?: ModelControlMode;
  evictionPolicy?: EvictionPolicyName;
  /** Bytes of evicted models' files kept in memory so that reloads skip the disk. */
  hostCacheBytes?: number;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  httpPort: 8000,
  bodyLimitBytes: 64 * 1024 * 1024,
  limits: { maxElementsPerTensor: 16 * 1024 * 1024, maxElementsPerRequest: 32 * 1024 * 1024 },
  maxQueueSize: 1024,
  drainTimeoutMs: 30_000,
  logLevel: 'info',
} satisfies Omit<ServerOptions, 'modelRepository'>;

export interface RunningServer {
  url: string;
  port: number;
  app: FastifyInstance;
  service: Service;
  logger: Logger;
  /** Stops taking requests, lets those in flight finish (up to the drain timeout), unloads models. */
  close(): Promise<void>;
}

export async function startServer(options: Partial<ServerOptions> & Pick<ServerOptions, 'modelRepository'>): Promise<RunningServer> {
  const opts: ServerOptions = { ...DEFAULTS, ...options };
  const exposed = exposureProblem(opts.host, opts.tenants !== undefined, opts.allowUnauthenticated === true);
  if (exposed) throw new Error(exposed);
  const logger = pino({ level: opts.logLevel, base: { service: 'shoal' } }, opts.logDestination ?? process.stdout);
  const metrics = new Metrics();
  // Every inference request is a lookup; its series is found once per model, not per request.
  const hitSeries = new Map<string, CounterSeries>();
  const lookupHits = (model: string): CounterSeries => {
    let s = hitSeries.get(model);
    if (!s) hitSeries.set(model, (s = metrics.lookups.series({ model, result: 'hit' })));
    return s;
  };
  const models = new ModelManager({
    repository: opts.modelRepository,
    backend: new OnnxBackend(),
    clock: systemClock,
    maxQueueSize: opts.maxQueueSize,
    onStateChange: (name, state) => {
      metrics.setModelState(name, state);
      logger.info({ model: name, state }, 'model state changed');
    },
    ...(opts.modelControlMode && { controlMode: opts.modelControlMode }),
    ...(opts.memoryBudgetBytes !== undefined && { memoryBudgetBytes: opts.memoryBudgetBytes }),
    ...(opts.evictionPolicy && { evictionPolicy: opts.evictionPolicy }),
    ...(opts.hostCacheBytes && { hostCacheBytes: opts.hostCacheBytes }),
    events: {
      loaded: (e) => {
        metrics.modelLoads.inc({ model: e.model, cause: e.cause, outcome: 'success' });
        metrics.modelLoadDuration.observe(e.ms / 1000);
        if (e.fromHostCache) metrics.hostCacheHits.inc({ model: e.model });
        logger.info({ model: e.model, cause: e.cause, ms: Math.round(e.ms), footprint_bytes: e.footprintBytes, host_cache: e.fromHostCache }, 'model loaded');
      },
      loadFailed: (e) => {
        metrics.modelLoads.inc({ model: e.model, cause: e.cause, outcome: 'failure' });
        logger.warn({ model: e.model, cause: e.cause, reason: e.reason }, 'model load failed');
      },
      lookedUp: (e) => (e.hit ? lookupHits(e.model) : metrics.lookups.series({ model: e.model, result: 'miss' })).inc(),
      evicted: (e) => {
        metrics.modelEvictions.inc({ model: e.model, reason: 'memory' });
        logger.info({ model: e.model, footprint_bytes: e.footprintBytes, for_model: e.forModel }, 'model evicted');
      },
    },
  });
  metrics.memorySource = () => models.memory();
  const service = new Service(models, metrics, systemClock);
  metrics.queueDepths = () => models.loaded().map((v) => ({ model: v.name, version: v.version, depth: v.scheduler.queueDepth }));
  const auth: TenantAuth | undefined = opts.tenants && {
    tenants: new Tenants(opts.tenants),
    // Never the key: at most the first digits of its SHA-256, enough to tell one bad key from another.
    onRejected: (r) => {
      metrics.tenantRefusals.inc({ tenant: r.tenant ?? '', reason: r.problem === 'not_admin' ? 'not_admin' : 'unauthenticated' });
      logger.warn({ request_id: r.requestId, problem: r.problem, tenant: r.tenant, key_sha256_prefix: r.keyDigestPrefix, method: r.method, url: r.url }, 'request refused: credentials');
    },
  };

  // Failed inference requests are logged, but under overload only a sample of each kind is (log-sampler.ts).
  type FailureLine = { request_id: string; tenant: string | undefined; model: string; version: string | undefined; status: number; ms: number; error: string | undefined };
  const failures = new LogSampler<FailureLine>();
  const writeFailure = (line: FailureLine): void => {
    if (line.status >= 500) logger.warn(line, 'inference failed');
    else logger.info(line, 'inference refused');
  };
  const writeHeldBack = (held: Suppressed<FailureLine>[]): void => {
    for (const h of held) {
      const { request_id: _, ms: __, ...like } = h.example;
      logger[like.status >= 500 ? 'warn' : 'info']({ ...like, suppressed: h.count }, `${h.count} more like this were not logged one by one`);
    }
  };
  const heldBackTimer = setInterval(() => writeHeldBack(failures.flush(Date.now())), 1000).unref();

  let traceSeq = 0;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimitBytes,
    // Every log line about a request carries its id; clients may supply one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : `r${(++traceSeq).toString(36)}`;
    },
    // Inference requests get one access-log line each from onInferDone below; fastify's own pair per request would double it.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    return503OnClosing: true,
    // Model names may be up to 255 characters; the router's default would cut them at 100.
    routerOptions: { maxParamLength: 256 },
  });
  const inflight = new InflightRequests();
  // On the node:http server rather than as a fastify hook: the count needs only the response,
  // and a raw listener costs a request less than a pass through fastify's hook runner.
  app.server.on('request', (_req: IncomingMessage, res: ServerResponse) => inflight.track(res));
  // A request that reaches the host while the event loop is busy waits in its socket, unseen,
  // until the loop reads it, and its deadline is already running at its client. A timer due at a
  // random moment is late by what is left of the loop's busy spell, and so is data that arrives
  // then, so the median of the last second's timer lateness is the estimate of that wait. Under
  // 5× overload refusals keep the loop busy, and without it admission let in requests with the
  // full deadline left that had lost part of it in the socket, and they were answered late.
  const unseenWait = new Lateness({ quantile: 0.5 });
  registerKServeRoutes(app, service, {
    limits: opts.limits,
    clock: systemClock,
    unseenWaitMs: () => unseenWait.marginMs(systemClock.now()),
    auth,
    // One access-log line per inference request; failures at info so they show by default.
    onInferDone: (done) => {
      if (done.tenant !== undefined) {
        metrics.tenantRequests.inc({ tenant: done.tenant, outcome: done.errorKind ?? 'success' });
        if (done.reason !== undefined) metrics.tenantRefusals.inc({ tenant: done.tenant, reason: done.reason });
      }
      const debug = logger.isLevelEnabled('debug');
      if (done.status < 400 && !debug) return;
      const line: FailureLine = { request_id: done.traceId, tenant: done.tenant, model: done.model, version: done.version, status: done.status, ms: done.endTime - done.arrivalTime, error: done.error };
      if (done.status < 400) logger.debug(line, 'inference');
      else if (debug) writeFailure(line);
      else {
        const sampled = failures.offer(`${done.model}\u0000${done.status}\u0000${done.reason ?? done.errorKind ?? ''}`, line, Date.now());
        writeHeldBack(sampled.closed);
        if (sampled.write) writeFailure(line);
      }
    },
  });
  // With tenants, metrics name every model and tenant, so only admin tenants may read them.
  app.get('/metrics', auth ? { onRequest: adminOnly(auth) } : {}, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  await app.listen({ host: opts.host, port: opts.httpPort });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.httpPort;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  logger.info({ url, repository: opts.modelRepository }, 'listening; loading models');
  metrics.startLagSampler(LAG_SAMPLE_MS, (lagMs, at) => unseenWait.observe(lagMs, at));
  await models.loadAll();
  service.markStarted();
  logger.info({ models: service.repositoryIndex(false) }, 'ready');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Readiness turns false and new inference requests get 503 while every request the server
      // has begun to read is answered; only then does the listener close, so load balancers see
      // the change before connections go, and no client is cut off mid-request.
      service.startDraining();
      logger.info({ drainTimeoutMs: opts.drainTimeoutMs, inflight: inflight.count }, 'draining');
      const deadline = new Promise<boolean>((r) => setTimeout(() => r(false), opts.drainTimeoutMs).unref());
      const drained = await Promise.race([inflight.whenNone().then(() => true), deadline]);
      if (!drained) logger.warn('drain timeout passed with requests still in flight; closing connections');
      const closed = app.close();
      if (!drained) app.server.closeAllConnections();
      // Keep-alive connections that were busy when the listener closed would hold it open until
      // the client drops them; close each as soon as its last reply is out.
      const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
      await closed;
      clearInterval(reaper);
      await models.unloadAll();
      metrics.stop();
      clearInterval(heldBackTimer);
      writeHeldBack(failures.flush(Date.now()));
      logger.info('stopped');
    })();
    return closing;
  };
  return { url, port, app, service, logger, close };
}

/** HTTP requests received and not yet answered (or abandoned by their client). */
class InflightRequests {
  count = 0;
  private waiters: Array<() => void> = [];

  track(res: ServerResponse): void {
    this.count++;
    // The response's 'close' fires once the exchange is over, answered or aborted (the request's
    // own fires as soon as its body is read).
    res.once('close', () => {
      if (--this.count > 0) return;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }

  whenNone(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}
