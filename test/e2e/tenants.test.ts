/**
 * Tenants in the live server, over real HTTP: API keys (401), private models that other
 * tenants can neither call nor see (404, as if they did not exist), rate limits and
 * concurrency quotas (429), fair sharing under a noisy tenant, admin-only repository control
 * and metrics, and logs that never hold a key.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { parseTenants } from '../../src/tenants/config.js';

const KEYS = {
  a: 'key-of-tenant-a-7f3c9e1d',
  b: 'key-of-tenant-b-52ab90e4',
  noisy: 'key-of-noisy-tenant-0c44',
  quiet: 'key-of-quiet-tenant-91d2',
  slowpoke: 'key-of-slowpoke-8812ab',
  ops: 'key-of-ops-admin-3e9a11',
  bad: 'not-a-key-anyone-has-5566',
};
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const TENANTS = `
tenants:
  - name: a
    keys: [{ key: ${KEYS.a} }]
    models: ["shared-*"]
    private_models: ["a-*"]
  - name: b
    keys: [{ key_sha256: ${sha(KEYS.b)} }]
    models: ["shared-*"]
    private_models: ["b-*"]
    rate_limit: { requests_per_second: 0.1, burst: 2 }
  - name: noisy
    keys: [{ key: ${KEYS.noisy} }]
    models: ["shared-*"]
    rate_limit: { requests_per_second: 2, burst: 4 }
  - name: quiet
    keys: [{ key: ${KEYS.quiet} }]
    models: ["shared-*"]
  - name: slowpoke
    keys: [{ key: ${KEYS.slowpoke} }]
    models: ["shared-*", "slow-add"]
    max_inflight: 1
  - name: ops
    keys: [{ key: ${KEYS.ops} }]
    admin: true
`;

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; text: string; json: () => Record<string, unknown> }

const rows = (seed: number) => ({
  x: Array.from({ length: 16 }, (_, i) => seed + i),
  y: Array.from({ length: 16 }, (_, i) => 100 - i * seed),
});

describe('tenants', () => {
  let dir: string;
  let server: RunningServer;
  let logText = '';

  const call = async (method: 'GET' | 'POST', url: string, key?: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    const r = await request(`${server.url}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.body.text();
    return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const infer = (model: string, key: string | undefined, seed = 1) => {
    const { x, y } = rows(seed);
    return call('POST', `/v2/models/${model}/infer`, key, {
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: x }, { name: 'INPUT1', datatype: 'FP32', shape: [1, 16], data: y }],
    });
  };
  /** The model's answer is the sum and difference of the inputs, whoever asks. */
  const expectCorrect = (r: Answer, seed = 1) => {
    expect(r.status, r.text).toBe(200);
    const { x, y } = rows(seed);
    const out = r.json().outputs as Array<{ name: string; data: number[] }>;
    expect(out.find((o) => o.name === 'OUTPUT0')!.data).toEqual(x.map((v, i) => v + y[i]!));
    expect(out.find((o) => o.name === 'OUTPUT1')!.data).toEqual(x.map((v, i) => v - y[i]!));
  };

  beforeAll(async () => {
    const examples = inject('exampleRepository');
    dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-tenants-'));
    const model = async (name: string, config: string) => {
      await mkdir(path.join(dir, name), { recursive: true });
      await cp(path.join(examples, 'add_sub', '1'), path.join(dir, name, '1'), { recursive: true });
      await writeFile(path.join(dir, name, 'config.yaml'), config);
    };
    await model('shared-add', 'max_batch_size: 8\n');
    await model('a-private', 'max_batch_size: 8\n');
    await model('b-private', 'max_batch_size: 8\n');
    // A lone request waits up to a second for company: it stays in flight long enough to test a quota without timing.
    await model('slow-add', 'max_batch_size: 8\ndynamic_batching: { max_queue_delay_microseconds: 1000000 }\n');
    const logs = new PassThrough();
    logs.on('data', (d: Buffer) => (logText += d.toString()));
    server = await startServer({
      modelRepository: dir, httpPort: 0, logLevel: 'info', logDestination: logs,
      tenants: parseTenants(TENANTS, 'tenants.yaml'),
    });
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('API keys', () => {
    it('answers 401 with a Bearer challenge without a key, with a wrong one, or with another scheme', async () => {
      const none = await infer('shared-add', undefined);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="shoal"');
      expect(none.json().error).toMatch(/API key is required/);
      const wrong = await infer('shared-add', KEYS.bad);
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toBe('Bearer realm="shoal", error="invalid_token"');
      const basic = await request(`${server.url}/v2/models/shared-add`, { headers: { authorization: 'Basic YTpi' } });
      expect(basic.statusCode).toBe(401);
      await basic.body.dump();
      for (const url of ['/v2', '/v2/models/shared-add', '/v2/models/stats']) expect((await call('GET', url)).status, url).toBe(401);
      expect((await call('POST', '/v2/repository/index')).status).toBe(401);
    });

    it('keeps the health checks open', async () => {
      expect((await call('GET', '/v2/health/live')).status).toBe(200);
      expect((await call('GET', '/v2/health/ready')).status).toBe(200);
    });

    it('accepts a key given in plain text or as its SHA-256', async () => {
      expectCorrect(await infer('shared-add', KEYS.a, 3), 3);
      expectCorrect(await infer('b-private', KEYS.b, 4), 4);
    });
  });

  describe('private models', () => {
    /** What a tenant is told about a model: status and body, with the model's name taken out. */
    const seen = async (r: Promise<Answer>, name: string) => {
      const a = await r;
      return { status: a.status, body: a.text.replaceAll(name, '<model>') };
    };

    it('another tenant\'s private model answers exactly as a model that does not exist, on every route', async () => {
      const routes = (m: string): Array<Promise<Answer>> => [
        call('GET', `/v2/models/${m}`, KEYS.a),
        call('GET', `/v2/models/${m}/versions/1`, KEYS.a),
        call('GET', `/v2/models/${m}/ready`, KEYS.a),
        call('GET', `/v2/models/${m}/config`, KEYS.a),
        call('GET', `/v2/models/${m}/stats`, KEYS.a),
        infer(m, KEYS.a),
      ];
      const hidden = await Promise.all(routes('b-private').map((r) => seen(r, 'b-private')));
      const missing = await Promise.all(routes('no-such-model').map((r) => seen(r, 'no-such-model')));
      expect(hidden).toEqual(missing);
      for (const h of hidden) expect(h).toEqual({ status: 404, body: JSON.stringify({ error: "unknown model '<model>'" }) });
    });

    it('the repository index and statistics list only the models a tenant may use', async () => {
      const names = (r: Answer) => [...new Set((r.json() as unknown as Array<{ name: string }>).map((e) => e.name))].sort();
      expect(names(await call('POST', '/v2/repository/index', KEYS.a, {}))).toEqual(['a-private', 'shared-add']);
      expect(names(await call('POST', '/v2/repository/index', KEYS.quiet, {}))).toEqual(['shared-add']);
      const stats = (await call('GET', '/v2/models/stats', KEYS.a)).json().model_stats as Array<{ name: string }>;
      expect([...new Set(stats.map((s) => s.name))].sort()).toEqual(['a-private', 'shared-add']);
      const own = await call('GET', '/v2/models/b-private', KEYS.b);
      expect(own.status).toBe(200);
      expect(own.json().name).toBe('b-private');
    });

    it('a tenant may call its own private models and the shared ones', async () => {
      expectCorrect(await infer('a-private', KEYS.a, 5), 5);
      expectCorrect(await infer('shared-add', KEYS.quiet, 6), 6);
    });
  });

  describe('rate limits and quotas', () => {
    it('past its rate limit a tenant gets 429 with Retry-After, on any model name, while others go on', async () => {
      // b: burst 2, then a token every 10 s. One was spent above; it may have one more.
      const answers: Answer[] = [];
      for (let i = 0; i < 3; i++) answers.push(await infer('b-private', KEYS.b, 7));
      const refused = answers.filter((r) => r.status === 429);
      expect(refused.length).toBeGreaterThanOrEqual(2);
      for (const r of answers.filter((x) => x.status !== 429)) expectCorrect(r, 7);
      for (const r of refused) {
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(10);
        expect(r.json().error).toBe("tenant 'b' is over its rate limit of 0.1 requests a second (burst 2)");
      }
      // Refused before the model is looked up: a hidden or missing model gets the same 429, so it tells nothing.
      expect((await infer('a-private', KEYS.b)).status).toBe(429);
      expect((await infer('no-such-model', KEYS.b)).status).toBe(429);
      expectCorrect(await infer('shared-add', KEYS.a, 8), 8);
    });

    it('past its concurrency quota a tenant gets 429 until its request in flight is answered', async () => {
      const first = infer('slow-add', KEYS.slowpoke, 9);
      // Wait until the server holds it (it then waits a second in the queue).
      for (;;) {
        const m = await call('GET', '/metrics', KEYS.ops);
        if (/^shoal_inflight_requests 1$/m.test(m.text)) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const second = await infer('shared-add', KEYS.slowpoke, 9);
      expect(second.status).toBe(429);
      expect(second.json().error).toMatch(/tenant 'slowpoke' already has 1 requests in flight, its max_inflight/);
      expectCorrect(await infer('shared-add', KEYS.quiet, 9), 9); // other tenants are not held up
      expectCorrect(await first, 9);
      expectCorrect(await infer('shared-add', KEYS.slowpoke, 10), 10);
    });

    it('a noisy tenant flooding at many times its rate is throttled, and a quiet tenant\'s requests all succeed', async () => {
      const noisy = Array.from({ length: 40 }, (_, i) => infer('shared-add', KEYS.noisy, 20 + (i % 5)));
      const quiet = Array.from({ length: 10 }, (_, i) => infer('shared-add', KEYS.quiet, 30 + i));
      const [n, q] = await Promise.all([Promise.all(noisy), Promise.all(quiet)]);
      q.forEach((r, i) => expectCorrect(r, 30 + i));
      const throttled = n.filter((r) => r.status === 429);
      expect(throttled.length).toBeGreaterThanOrEqual(20);
      for (const r of throttled) expect(r.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
      n.forEach((r, i) => { if (r.status !== 429) expectCorrect(r, 20 + (i % 5)); });
    });
  });

  describe('admin', () => {
    it('only admin tenants may load and unload models or read metrics', async () => {
      const load = await call('POST', '/v2/repository/models/shared-add/load', KEYS.a, {});
      expect(load.status).toBe(403);
      expect(load.json().error).toBe("tenant 'a' is not an admin tenant");
      expect((await call('POST', '/v2/repository/models/shared-add/unload', KEYS.quiet, {})).status).toBe(403);
      expect((await call('GET', '/metrics')).status).toBe(401);
      expect((await call('GET', '/metrics', KEYS.a)).status).toBe(403);
      expect((await call('POST', '/v2/repository/models/b-private/load', KEYS.ops, {})).status).toBe(200);
      expectCorrect(await infer('shared-add', KEYS.a, 11), 11);
    });

    it('metrics count requests by tenant and outcome, and refusals by tenant and reason', async () => {
      const text = (await call('GET', '/metrics', KEYS.ops)).text;
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
      expect(value(/^shoal_tenant_requests_total\{tenant="a",outcome="success"\} (\d+)$/m)).toBeGreaterThanOrEqual(3);
      expect(value(/^shoal_tenant_requests_total\{tenant="b",outcome="overloaded"\} (\d+)$/m)).toBeGreaterThanOrEqual(4);
      expect(value(/^shoal_tenant_refusals_total\{tenant="b",reason="rate_limit"\} (\d+)$/m)).toBeGreaterThanOrEqual(4);
      expect(value(/^shoal_tenant_refusals_total\{tenant="slowpoke",reason="concurrency_quota"\} (\d+)$/m)).toBe(1);
      // b-private and no-such-model: neither matches a's patterns, whether it exists or not.
      expect(value(/^shoal_tenant_refusals_total\{tenant="a",reason="model_not_permitted"\} (\d+)$/m)).toBe(2);
      expect(value(/^shoal_tenant_refusals_total\{tenant="",reason="unauthenticated"\} (\d+)$/m)).toBeGreaterThanOrEqual(3);
      expect(value(/^shoal_tenant_refusals_total\{tenant="a",reason="not_admin"\} (\d+)$/m)).toBeGreaterThanOrEqual(2);
    });
  });

  it('logs refused credentials by a short digest prefix, and never a key', async () => {
    await infer('shared-add', KEYS.bad);
    await new Promise((r) => setImmediate(r));
    const refusals = logText.split('\n').filter((l) => l.includes('request refused: credentials')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(refusals.some((l) => l.problem === 'unknown' && l.key_sha256_prefix === sha(KEYS.bad).slice(0, 8))).toBe(true);
    expect(refusals.some((l) => l.problem === 'missing')).toBe(true);
    for (const key of Object.values(KEYS)) expect(logText).not.toContain(key);
    expect(logText).not.toContain(sha(KEYS.bad).slice(0, 9));
  });
});
