/**
 * `deadlineMs`: every request carries `parameters.deadline_ms`, whatever its encoding, and
 * goodput is scored against it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBinary, encodeJson } from '../../src/bench/payload.js';
import { runBench, withRequestParameters, type BenchOptions } from '../../src/bench/runner.js';
import type { Tensor } from '../../src/core/tensor.js';
import { startFakeServer, type FakeServer } from './fake-server.js';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const tensors: Tensor[] = [
  { name: 'A', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(0.5, -1) },
  { name: 'B', datatype: 'INT32', shape: [1], data: Int32Array.of(7) },
];

const HEADER = 'inference-header-content-length';

describe('withRequestParameters', () => {
  it('adds request parameters to a JSON body and keeps the inputs', () => {
    const req = withRequestParameters(encodeJson(tensors), { deadline_ms: 50 });
    const doc = JSON.parse(req.body.toString('utf8')) as { inputs: unknown[]; parameters: unknown };
    expect(doc.parameters).toEqual({ deadline_ms: 50 });
    expect(doc.inputs).toEqual(JSON.parse(encodeJson(tensors).body.toString('utf8')).inputs);
    expect(req.headers[HEADER]).toBeUndefined();
  });

  it('rewrites a binary body\'s header and its length, keeps binary_data_output, and leaves the tensor bytes as they were', () => {
    const before = encodeBinary(tensors);
    const req = withRequestParameters(before, { deadline_ms: 12.5 });
    const at = Number(req.headers[HEADER]);
    const header = JSON.parse(req.body.subarray(0, at).toString('utf8')) as { parameters: unknown };
    expect(header.parameters).toEqual({ binary_data_output: true, deadline_ms: 12.5 });
    const oldAt = Number(before.headers[HEADER]);
    expect(req.body.subarray(at).equals(before.body.subarray(oldAt))).toBe(true);
    expect(req.headers['content-type']).toBe('application/octet-stream');
  });
});

describe('runBench with a deadline', () => {
  it('sends the deadline with every request and counts goodput against it', async () => {
    // Every third answer takes 60 ms, the others 2 ms; the deadline is 30 ms.
    let n = 0;
    const server = await startFakeServer({ replyAt: (a) => a + (n++ % 3 === 2 ? 60 : 2) });
    servers.push(server);
    const o: BenchOptions = {
      url: server.url, models: ['toy'], popularity: { kind: 'uniform' }, mode: 'concurrency', arrival: 'poisson', cv: 1, levels: [1],
      durationS: 1, warmupS: 0, timeoutMs: 5_000, binary: true, batch: 1, shapes: {}, intRange: [0, 100], seed: 3, deadlineMs: 30,
    };
    const report = await runBench(o);
    const s = report.points[0]!.stats;
    expect(report.settings.deadlineMs).toBe(30);
    expect(server.bodies.length).toBeGreaterThan(10);
    for (const body of server.bodies) expect(body.toString('latin1')).toContain('"deadline_ms":30');
    expect(s.goodFraction).toBeGreaterThan(0.5);
    expect(s.goodFraction).toBeLessThan(0.8);
  });
});
