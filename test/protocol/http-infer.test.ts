import { request as rawRequest } from 'node:http';
import type { InjectOptions } from 'fastify';
import { request as httpRequest } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { binaryBody, le, parseInferResponse } from './helpers.js';
import { BODY_LIMIT, type Harness, addRequest, harness, waitFor } from './http-harness.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.app.close();
});

const inject = (opts: InjectOptions) => h.inject(opts);
const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) => h.postJson(url, body, headers);

describe('inference', () => {
  it('runs a JSON request and answers JSON', async () => {
    const r = await postJson('/v2/models/add/infer', addRequest([1, 2], [0.5, 4], { id: 'req-1' }));
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers['inference-header-content-length']).toBeUndefined();
    expect(r.json()).toEqual({
      model_name: 'add', model_version: '1', id: 'req-1',
      outputs: [
        { name: 'SUM', datatype: 'FP32', shape: [2], data: [1.5, 6] },
        { name: 'DIFF', datatype: 'FP32', shape: [2], data: [0.5, -2] },
      ],
    });
  });

  it('passes the version, the arrival time and a trace id to the service', async () => {
    h.clock.set(1234);
    const r = await postJson('/v2/models/echo/versions/1/infer', { inputs: [{ name: 'x', datatype: 'INT8', shape: [1], data: [5] }] });
    expect(r.json()).toMatchObject({ model_name: 'echo', model_version: '1' });
    expect(h.service.received[0]).toMatchObject({ model: 'echo', version: '1', arrivalTime: 1234, traceId: 'trace-1' });
    expect(h.service.received[0]!.signal).toBeInstanceOf(AbortSignal);
  });

  it('dates the arrival back by the wait the event loop is estimated to have left the request unread', async () => {
    const lagged = await harness({ unseenWaitMs: () => 40 });
    try {
      lagged.clock.set(1234);
      const r = await lagged.postJson('/v2/models/echo/infer', { inputs: [{ name: 'x', datatype: 'INT8', shape: [1], data: [5] }] });
      expect(r.statusCode).toBe(200);
      expect(lagged.service.received[0]!.arrivalTime).toBe(1194);
    } finally {
      await lagged.app.close();
    }
  });

  it("uses fastify's request id as the trace id unless given a generator", async () => {
    const own = await harness({ newTraceId: undefined }, { genReqId: () => 'req-xyz' });
    await own.app.inject({ method: 'POST', url: '/v2/models/echo/infer', payload: JSON.stringify({ inputs: [{ name: 'x', datatype: 'INT8', shape: [1], data: [5] }] }) });
    expect(own.service.received[0]!.traceId).toBe('req-xyz');
    await own.app.close();
  });

  it('reads the body whatever its content type says', async () => {
    const payload = JSON.stringify(addRequest([1], [2]));
    for (const headers of [{ 'content-type': 'text/plain' }, { 'content-type': 'application/octet-stream' }, { 'content-type': 'application/x-whatever' }]) {
      const r = await inject({ method: 'POST', url: '/v2/models/add/infer', payload, headers });
      expect(r.statusCode, JSON.stringify(headers)).toBe(200);
    }
  });

  it('takes binary inputs and returns binary outputs with Inference-Header-Content-Length', async () => {
    const { body, headerLength } = binaryBody({
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [3], parameters: { binary_data_size: 12 } },
        { name: 'INPUT1', datatype: 'FP32', shape: [3], data: [1, 1, 1] },
      ],
      outputs: [{ name: 'SUM', parameters: { binary_data: true } }, { name: 'DIFF' }],
    }, [le(new Float32Array([1, 2, 3]))]);
    const r = await inject({
      method: 'POST', url: '/v2/models/add/infer', payload: body,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    const parsed = parseInferResponse(r.rawPayload, Number(r.headers['inference-header-content-length']));
    const [sum, diff] = parsed.outputs;
    expect(sum).toMatchObject({ name: 'SUM', shape: [3], parameters: { binary_data_size: 12 } });
    expect(Array.from(new Float32Array(new Uint8Array(sum!.bytes!).buffer))).toEqual([2, 3, 4]);
    expect(diff).toMatchObject({ name: 'DIFF', data: [0, 1, 2] });
  });

  it('reads binary tensors in place, aligned, whatever the JSON header\'s length', async () => {
    // A short body comes from Node's shared pool and is copied to the worker; a long one has
    // memory of its own, which the backend may move (body.ts).
    const roomy = await harness({ limits: { maxElementsPerTensor: 4096, maxElementsPerRequest: 4096 } }, { bodyLimit: 1 << 20 });
    for (const [length, movable] of [[3, false], [1024, true]] as const) {
      const values = Float64Array.from({ length }, (_, i) => i / 4 - 1);
      const h = roomy;
      for (let pad = 0; pad < 8; pad++) {
        // The id's length moves where the binary data starts through every residue modulo 8.
        const { body, headerLength } = binaryBody({
          id: 'x'.repeat(pad),
          inputs: [{ name: 'X', datatype: 'FP64', shape: [length], parameters: { binary_data_size: 8 * length } }],
        }, [le(values)]);
        h.service.received = [];
        const r = await h.inject({
          method: 'POST', url: '/v2/models/echo/infer', payload: body,
          headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
        });
        expect(r.statusCode, `header of ${headerLength} bytes`).toBe(200);
        expect(r.json().outputs[0].data).toEqual(Array.from(values));
        const [got] = h.service.received;
        const data = got!.inputs[0]!.data as Float64Array;
        expect(data.byteOffset % 8).toBe(0);
        // A view into the body (its JSON header too), not a copy of the tensor alone.
        expect(data.buffer.byteLength).toBeGreaterThanOrEqual(body.length);
        expect(got!.inputsMovable, `${body.length}-byte body`).toBe(movable);
      }
    }
    await roomy.app.close();
  });

  it('refuses malformed requests with 400 and says why', async () => {
    const malformed = await postJson('/v2/models/add/infer', '{"inputs": [}');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatch(/^malformed JSON in request: .*line 1, column 13/);
    const bad = await postJson('/v2/models/add/infer', { inputs: [{ name: 'INPUT0', datatype: 'FP33', shape: [1], data: [1] }] });
    expect([bad.statusCode, bad.json().error]).toEqual([400, expect.stringMatching(/input 'INPUT0'.*FP33/)]);
    const header = await postJson('/v2/models/add/infer', addRequest([1], [2]), { 'inference-header-content-length': '12x' });
    expect([header.statusCode, header.json().error]).toEqual([400, 'Inference-Header-Content-Length must be a non-negative integer, got "12x"']);
    const empty = await inject({ method: 'POST', url: '/v2/models/add/infer' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error).toMatch(/body is empty/);
  });

  it('answers 413 for tensors over the element limits', async () => {
    const r = await postJson('/v2/models/echo/infer', { inputs: [{ name: 'big', datatype: 'UINT8', shape: [65], data: [] }] });
    expect(r.statusCode).toBe(413);
    expect(r.json().error).toMatch(/input 'big'/);
  });

  it('answers 413 with an error body for a body over the limit', async () => {
    const r = await postJson('/v2/models/add/infer', { inputs: [], pad: 'x'.repeat(BODY_LIMIT) });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toEqual({ error: `request body is larger than the limit of ${BODY_LIMIT} bytes` });
  });

  it("answers fastify's own errors as {error}: bad Content-Length, unknown route", async () => {
    const r = await inject({ method: 'POST', url: '/v2/models/add/infer', payload: 'abc', headers: { 'content-length': '10' } });
    expect(r.statusCode).toBe(400);
    expect(Object.keys(r.json())).toEqual(['error']);
    const missing = await inject({ method: 'GET', url: '/v2/nothing/here' });
    expect([missing.statusCode, missing.json()]).toEqual([404, { error: 'no route for GET /v2/nothing/here' }]);
    const wrongMethod = await inject({ method: 'GET', url: '/v2/models/add/infer' });
    expect([wrongMethod.statusCode, wrongMethod.json()]).toEqual([404, { error: 'no route for GET /v2/models/add/infer' }]);
  });

  it('maps every error kind to its status', async () => {
    const expected: Record<string, number> = {
      invalid_argument: 400, not_found: 404, too_large: 413, overloaded: 429, cancelled: 499,
      internal: 500, unavailable: 503, deadline_exceeded: 429,
    };
    for (const [kind, status] of Object.entries(expected)) {
      const r = await postJson('/v2/models/fail/infer', addRequest([1], [2], { parameters: { kind } }));
      expect([kind, r.statusCode, r.json()]).toEqual([kind, status, { error: `failed as asked: ${kind}` }]);
      expect(r.headers['retry-after']).toBe(kind === 'overloaded' ? '3' : undefined);
    }
    expect((await postJson('/v2/models/cold/infer', addRequest([1], [2]))).statusCode).toBe(503);
    expect((await postJson('/v2/models/nope/infer', addRequest([1], [2]))).statusCode).toBe(404);
  });

  it('turns unexpected exceptions into 500 and logs them', async () => {
    const r = await postJson('/v2/models/fail/infer', addRequest([1], [2], { parameters: { kind: 'plain' } }));
    expect([r.statusCode, r.json()]).toEqual([500, { error: 'internal error: something broke' }]);
    expect(h.logs.join('')).toContain('something broke');
  });

  it('reports every inference to onInferDone, failures included', async () => {
    h.clock.set(50);
    await postJson('/v2/models/add/infer', addRequest([1], [2]));
    await postJson('/v2/models/add/infer', '{');
    expect(h.done).toHaveLength(2);
    expect(h.done[0]).toMatchObject({ model: 'add', traceId: 'trace-1', status: 200, arrivalTime: 50, endTime: 50 });
    expect(h.done[0]!.requestBytes).toBeGreaterThan(0);
    expect(h.done[0]!.responseBytes).toBeGreaterThan(0);
    expect(h.done[0]!.error).toBeUndefined();
    expect(h.done[1]).toMatchObject({ model: 'add', status: 400, error: expect.stringMatching(/malformed JSON/) });
  });

  it('keeps working when onInferDone throws', async () => {
    const own = await harness({ onInferDone: () => { throw new Error('metrics down'); } });
    const r = await own.app.inject({ method: 'POST', url: '/v2/models/add/infer', payload: JSON.stringify(addRequest([1], [2])) });
    expect(r.statusCode).toBe(200);
    expect(own.logs.join('')).toContain('metrics down');
    await own.app.close();
  });
});

describe('over a real socket', () => {
  let base: string;
  beforeEach(async () => {
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
  });

  it('round-trips binary data with undici', async () => {
    const { body, headerLength } = binaryBody({
      parameters: { binary_data_output: true },
      inputs: [{ name: 'x', datatype: 'INT64', shape: [2], parameters: { binary_data_size: 16 } }],
    }, [le(new BigInt64Array([-9223372036854775808n, 9223372036854775807n]))]);
    const r = await httpRequest(`${base}/v2/models/echo/infer`, {
      method: 'POST', body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
    });
    expect(r.statusCode).toBe(200);
    const raw = Buffer.from(await r.body.arrayBuffer());
    expect(r.headers['content-length']).toBe(String(raw.length));
    const [out] = parseInferResponse(raw, Number(r.headers['inference-header-content-length'])).outputs;
    expect(out).toMatchObject({ name: 'x', datatype: 'INT64', shape: [2], parameters: { binary_data_size: 16 } });
    expect([out!.bytes!.readBigInt64LE(0), out!.bytes!.readBigInt64LE(8)]).toEqual([-9223372036854775808n, 9223372036854775807n]);
  });

  it('refuses a ".." model name sent verbatim, encoded or not', async () => {
    // node:http sends the path as written; clients that resolve dot segments never get here.
    const get = (path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(base);
      const req = rawRequest({ hostname, port, path }, (res) => {
        let body = '';
        res.on('data', (c) => { body += String(c); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    for (const path of ['/v2/models/%2E%2E/ready', '/v2/models/../ready', '/v2/models/add/versions/%2e%2e']) {
      const r = await get(path);
      expect([path, r.status]).toEqual([path, 400]);
      expect(JSON.parse(r.body).error).toMatch(/must not contain '\.\.'/);
    }
  });

  it('aborts the request signal when the client disconnects', async () => {
    const started = h.service.nextHangStarted();
    const aborted = h.service.nextHangAborted();
    const client = new AbortController();
    const pending = httpRequest(`${base}/v2/models/hang/infer`, {
      method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'INT8', shape: [1], data: [1] }] }), signal: client.signal,
    }).catch((e: unknown) => e);
    const req = await started;
    expect(req.signal?.aborted).toBe(false);
    client.abort();
    expect(await pending).toBeInstanceOf(Error);
    expect((await aborted).signal?.aborted).toBe(true);
    await waitFor(() => h.done.length === 1);
    expect(h.done[0]).toMatchObject({ model: 'hang', status: 499 });
  });

  it('reports a disconnect to a service that looks at the signal only afterwards', async () => {
    const started = h.service.nextHangStarted();
    const client = new AbortController();
    const pending = httpRequest(`${base}/v2/models/wait/infer`, {
      method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'INT8', shape: [1], data: [1] }] }), signal: client.signal,
    }).catch((e: unknown) => e);
    await started;
    client.abort();
    await pending;
    // Give the server a moment to see the socket close, then let the model look.
    await new Promise((r) => setTimeout(r, 50));
    h.service.release();
    await waitFor(() => h.done.length === 1);
    expect(h.service.waitSawAborted).toBe(true);
    expect(h.done[0]).toMatchObject({ model: 'wait', status: 499 });
  });

  it('does not abort requests that complete', async () => {
    const r = await httpRequest(`${base}/v2/models/echo/infer`, {
      method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'INT8', shape: [1], data: [1] }] }),
    });
    await r.body.text();
    await waitFor(() => h.done.length === 1);
    expect(h.service.received[0]!.signal?.aborted).toBe(false);
  });
});
