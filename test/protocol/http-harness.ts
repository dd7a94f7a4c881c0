/** A fastify app with the KServe routes over a TestService, for the HTTP tests. */
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { VirtualClock } from '../../src/core/clock.js';
import { type InferDone, type KServeRouteOptions, registerKServeRoutes } from '../../src/protocol/kserve/http.js';
import { TestService } from './test-service.js';

export const BODY_LIMIT = 4096;

export interface Harness {
  app: FastifyInstance;
  service: TestService;
  clock: VirtualClock;
  /** What onInferDone was told, in order. */
  done: InferDone[];
  /** Log lines at level error and above. */
  logs: string[];
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
  postJson(url: string, body: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

export async function harness(over: Partial<KServeRouteOptions> = {}, fastifyOptions: Record<string, unknown> = {}): Promise<Harness> {
  const logs: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } });
  const app = Fastify({ bodyLimit: BODY_LIMIT, routerOptions: { maxParamLength: 1024 }, logger: { level: 'error', stream }, ...fastifyOptions });
  const service = new TestService();
  const clock = new VirtualClock(1000);
  const done: InferDone[] = [];
  let seq = 0;
  registerKServeRoutes(app, service, {
    limits: { maxElementsPerTensor: 64, maxElementsPerRequest: 100 },
    clock,
    newTraceId: () => `trace-${++seq}`,
    onInferDone: (d) => done.push(d),
    ...over,
  });
  await app.ready();
  const inject = (opts: InjectOptions) => app.inject(opts);
  const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) => app.inject({
    method: 'POST', url, payload: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { app, service, clock, done, logs, inject, postJson };
}

export const addRequest = (a: number[], b: number[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  inputs: [
    { name: 'INPUT0', datatype: 'FP32', shape: [a.length], data: a },
    { name: 'INPUT1', datatype: 'FP32', shape: [b.length], data: b },
  ],
  ...extra,
});

export async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
