import Fastify, { type InjectOptions } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import { registerKServeRoutes } from '../../src/protocol/kserve/http.js';
import { type Harness, harness } from './http-harness.js';
import { TestService } from './test-service.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.app.close();
});

const inject = (opts: InjectOptions) => h.inject(opts);
const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) => h.postJson(url, body, headers);

describe('health and metadata', () => {
  it('answers live and ready with a status and an empty body', async () => {
    for (const url of ['/v2/health/live', '/v2/health/ready']) {
      const r = await inject({ method: 'GET', url });
      expect([r.statusCode, r.body]).toEqual([200, '']);
    }
    h.service.serverReady = false;
    const r = await inject({ method: 'GET', url: '/v2/health/ready' });
    expect([r.statusCode, r.body]).toEqual([503, '']);
  });

  it('serves server and model metadata', async () => {
    expect((await inject({ method: 'GET', url: '/v2' })).json()).toEqual({
      name: 'test', version: '0.0.1', extensions: ['binary_tensor_data', 'model_repository', 'statistics'],
    });
    for (const url of ['/v2/models/add', '/v2/models/add/versions/1']) {
      const r = await inject({ method: 'GET', url });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({
        name: 'add', versions: ['1'], platform: 'test',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1] }, { name: 'INPUT1', datatype: 'FP32', shape: [-1] }],
        outputs: [{ name: 'SUM', datatype: 'FP32', shape: [-1] }, { name: 'DIFF', datatype: 'FP32', shape: [-1] }],
      });
    }
    const missing = await inject({ method: 'GET', url: '/v2/models/nope' });
    expect([missing.statusCode, missing.json()]).toEqual([404, { error: "unknown model 'nope'" }]);
    const badVersion = await inject({ method: 'GET', url: '/v2/models/add/versions/7' });
    expect([badVersion.statusCode, badVersion.json()]).toEqual([404, { error: "model 'add' has no version '7'" }]);
  });

  it('answers model readiness: 200 ready, 503 not ready, 404 unknown', async () => {
    const status = async (url: string) => (await inject({ method: 'GET', url })).statusCode;
    expect(await status('/v2/models/add/ready')).toBe(200);
    expect(await status('/v2/models/add/versions/1/ready')).toBe(200);
    expect(await status('/v2/models/cold/ready')).toBe(503);
    expect(await status('/v2/models/nope/ready')).toBe(404);
    expect(await status('/v2/models/add/versions/2/ready')).toBe(404);
  });

  it('serves model configuration and statistics', async () => {
    for (const url of ['/v2/models/add/config', '/v2/models/add/versions/1/config']) {
      expect((await inject({ method: 'GET', url })).json()).toEqual({ name: 'add', platform: 'onnxruntime_onnx', max_batch_size: 0 });
    }
    const all = (await inject({ method: 'GET', url: '/v2/models/stats' })).json();
    expect(all.model_stats.map((s: { name: string }) => s.name)).toEqual(['add', 'echo', 'hang', 'wait', 'fail']);
    const one = (await inject({ method: 'GET', url: '/v2/models/echo/stats' })).json();
    expect(one.model_stats).toHaveLength(1);
    expect(one.model_stats[0]).toMatchObject({ name: 'echo', version: '1', inference_count: 0, inference_stats: { success: { count: 0, ns: 0 } } });
    expect((await inject({ method: 'GET', url: '/v2/models/echo/versions/1/stats' })).json().model_stats[0].version).toBe('1');
    expect((await inject({ method: 'GET', url: '/v2/models/nope/stats' })).statusCode).toBe(404);
  });
});

describe('model names from the URL', () => {
  const cases: Array<[string, RegExp]> = [
    ['a%2Fb', /must not contain '\/'/],
    ['a%5Cb', /must not contain '\\'/],
    ['a%00b', /NUL/],
    // A whole "%2E%2E" segment is resolved away by inject's URL parsing; see the real-socket test.
    ['a%2E%2E', /must not contain '\.\.'/],
    ['x..y', /'\.\.'/],
    ['n'.repeat(256), /256 characters long; at most 255/],
  ];
  for (const [name, message] of cases) {
    it(`refuses ${name.slice(0, 20)} on every route`, async () => {
      for (const [method, url] of [
        ['GET', `/v2/models/${name}`], ['GET', `/v2/models/${name}/ready`], ['POST', `/v2/models/${name}/infer`],
        ['GET', `/v2/models/${name}/config`], ['GET', `/v2/models/${name}/stats`],
        ['POST', `/v2/repository/models/${name}/load`], ['POST', `/v2/repository/models/${name}/unload`],
        ['GET', `/v2/models/add/versions/${name}/ready`],
      ] as const) {
        const r = await inject({ method, url, payload: method === 'POST' ? '{}' : undefined });
        expect([url, r.statusCode]).toEqual([url, 400]);
        expect(r.json().error).toMatch(message);
      }
      const version = await inject({ method: 'GET', url: `/v2/models/add/versions/${name}` });
      expect(version.json().error).toMatch(/^model version/);
    });
  }

  it('lets a 255-character name through to the service', async () => {
    const r = await inject({ method: 'GET', url: `/v2/models/${'n'.repeat(255)}/ready` });
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toMatch(/unknown model/);
  });
});

describe('model repository', () => {
  it('lists the index, optionally only ready models', async () => {
    const all = await inject({ method: 'POST', url: '/v2/repository/index' });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toHaveLength(6);
    expect(all.json()).toContainEqual({ name: 'cold', state: 'UNAVAILABLE', reason: 'unloaded' });
    const ready = await postJson('/v2/repository/index', { ready: true });
    expect(ready.json().map((e: { name: string }) => e.name)).toEqual(['add', 'echo', 'hang', 'wait', 'fail']);
    expect((await postJson('/v2/repository/index', { ready: false })).json()).toHaveLength(6);
    const bad = await postJson('/v2/repository/index', { ready: 'yes' });
    expect([bad.statusCode, bad.json().error]).toEqual([400, `'ready' must be true or false, got "yes"`]);
    const huge = await postJson('/v2/repository/index', '{"ready":123456789012345678901234567890}');
    expect([huge.statusCode, huge.json().error]).toEqual([400, "'ready' must be true or false, got 123456789012345678901234567890"]);
    const malformed = await postJson('/v2/repository/index', '{"ready":');
    expect([malformed.statusCode, malformed.json().error]).toEqual([400, expect.stringMatching(/malformed JSON in repository index request/)]);
    expect((await postJson('/v2/repository/index', '[]')).statusCode).toBe(400);
  });

  it('loads and unloads models', async () => {
    const unload = await inject({ method: 'POST', url: '/v2/repository/models/add/unload' });
    expect([unload.statusCode, unload.body]).toEqual([200, '']);
    expect((await inject({ method: 'GET', url: '/v2/models/add/ready' })).statusCode).toBe(503);
    expect((await postJson('/v2/repository/models/add/load', {})).statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/v2/models/add/ready' })).statusCode).toBe(200);
    expect((await postJson('/v2/repository/models/add/unload', { parameters: { unload_dependents: true } })).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: '/v2/repository/models/nope/load' })).statusCode).toBe(404);
  });

  it('refuses load parameters it cannot honour', async () => {
    const r = await postJson('/v2/repository/models/add/load', { parameters: { config: '{}' } });
    expect([r.statusCode, r.json()]).toEqual([400, { error: "unsupported parameter: 'config'" }]);
    const u = await postJson('/v2/repository/models/add/unload', { parameters: { x: 1, y: 2 } });
    expect([u.statusCode, u.json()]).toEqual([400, { error: "unsupported parameters: 'x', 'y'" }]);
  });
});

describe('sharing the app', () => {
  it('leaves JSON body parsing alone for routes others add', async () => {
    const app = Fastify();
    app.post('/other', async (request) => ({ type: typeof request.body, body: request.body }));
    registerKServeRoutes(app, new TestService(), { limits: { maxElementsPerTensor: 8, maxElementsPerRequest: 8 }, clock: new VirtualClock() });
    const r = await app.inject({ method: 'POST', url: '/other', payload: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(r.json()).toEqual({ type: 'object', body: { a: 1 } });
    await app.close();
  });
});
