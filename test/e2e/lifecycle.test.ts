/**
 * SIGTERM: readiness turns false, new requests are refused, requests in flight are answered,
 * and the process exits 0. Every log line about a request carries its id.
 */
import { Pool } from 'undici';
import { describe, expect, inject, it } from 'vitest';
import { spawnServer } from '../support/process.js';
import { parseInferResponse } from '../protocol/helpers.js';

const SIDE = 1280;
const big = { name: 'x', datatype: 'FP32', shape: [1, 3, SIDE, SIDE] };

interface Answer {
  status: number;
  headerLength: number;
  body: Buffer;
  at: number;
  error?: string;
}

describe('shoal serve lifecycle', () => {
  it('drains requests in flight on SIGTERM and exits 0', async () => {
    const server = await spawnServer(['--model-repository', inject('exampleRepository'), '--drain-timeout', '20000']);
    const pool = new Pool(server.url, { connections: 8 });
    try {
      // Text detection on large images, several queued, so that some are in flight at SIGTERM.
      const header = Buffer.from(JSON.stringify({ inputs: [{ ...big, parameters: { binary_data_size: 4 * 3 * SIDE * SIDE } }], parameters: { binary_data_output: true } }));
      const body = Buffer.concat([header, Buffer.from(new Float32Array(3 * SIDE * SIDE).fill(0.5).buffer)]);
      const headers = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) };
      let sigtermAt = Infinity;
      const sent = Array.from({ length: 4 }, () =>
        pool.request({ path: '/v2/models/ocr_det/infer', method: 'POST', body, headers })
          .then(
            async (r): Promise<Answer> => ({ status: r.statusCode, headerLength: Number(r.headers['inference-header-content-length']), body: Buffer.from(await r.body.arrayBuffer()), at: performance.now() }),
            // A connection the server never took a request from may be closed under the client.
            (e: Error & { code?: string }): Answer => ({ status: 0, error: e.code ?? e.message, headerLength: 0, body: Buffer.alloc(0), at: performance.now() }),
          ),
      );
      // Stop the server as soon as it holds one of them (the in-flight gauge counts accepted requests).
      let accepted = 0;
      for (let i = 0; i < 2000 && accepted === 0; i++) {
        const metrics = await (await pool.request({ path: '/metrics', method: 'GET' })).body.text();
        accepted = Number(/^shoal_inflight_requests (\d+)/m.exec(metrics)?.[1] ?? 0);
      }
      expect(accepted).toBeGreaterThan(0);
      server.child.kill('SIGTERM');
      sigtermAt = performance.now();

      // The signal arrives asynchronously: poll readiness as a load balancer would.
      let readyStatus = 200;
      for (let i = 0; i < 100 && readyStatus === 200; i++) {
        const ready = await pool.request({ path: '/v2/health/ready', method: 'GET' });
        await ready.body.dump();
        readyStatus = ready.statusCode;
        if (readyStatus === 200) await new Promise((r) => setTimeout(r, 10));
      }
      expect(readyStatus).toBe(503);
      const small = JSON.stringify({ inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(1) })) });
      const refused = await pool.request({ path: '/v2/models/add_sub/infer', method: 'POST', body: small, headers: { 'content-type': 'application/json' } });
      expect(refused.statusCode).toBe(503);
      expect(JSON.parse(await refused.body.text()).error).toMatch(/shutting down/);

      const answers = await Promise.all(sent);
      const ok = answers.filter((a) => a.status === 200);
      // Every request the server had accepted is answered, some of them after SIGTERM; the rest
      // were refused whole (503) or never reached it (a connection error), never cut off.
      expect(ok.length).toBeGreaterThanOrEqual(accepted);
      expect(ok.some((a) => a.at > sigtermAt)).toBe(true);
      for (const a of answers) {
        if (a.status !== 200) {
          expect([0, 503]).toContain(a.status);
          continue;
        }
        const { outputs } = parseInferResponse(a.body, a.headerLength);
        expect(outputs[0]!.shape).toEqual([1, 1, SIDE, SIDE]);
        expect(outputs[0]!.bytes!.length).toBe(4 * SIDE * SIDE);
      }
      expect(await server.exited).toBe(0);
      expect(server.logs.some((l) => l.msg === 'stopped')).toBe(true);
    } finally {
      server.child.kill('SIGKILL');
      await pool.destroy().catch(() => undefined);
    }
  });

  it('logs each request line with its request id', async () => {
    const server = await spawnServer(['--model-repository', inject('exampleRepository'), '--log-level', 'debug']);
    try {
      const body = JSON.stringify({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1], data: [1] }] });
      const r = await fetch(`${server.url}/v2/models/nope/infer`, { method: 'POST', body, headers: { 'x-request-id': 'trace-abc' } });
      expect(r.status).toBe(404);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      const about = server.logs.filter((l) => JSON.stringify(l).includes('nope'));
      expect(about.length).toBeGreaterThan(0);
      for (const l of about) expect(l.request_id).toBe('trace-abc');
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
