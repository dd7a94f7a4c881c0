/**
 * The scheduling policies in the live server: priority levels with per-level queue limits
 * (429 with Retry-After), deadlines refused rather than answered late (429), the request's
 * scheduling parameters validated (400), and dynamic batching still forming batches.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ModelStatistics } from '../../src/core/service.js';
import type { Tensor } from '../../src/core/tensor.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { get, inferJson, post } from '../support/client.js';
import { MLP_SIZES } from '../../src/onnx/examples/mlp.js';

const MLP_IN = MLP_SIZES.input;

const SIDE = 640;
const OCR_HEADER = Buffer.from(JSON.stringify({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, SIDE, SIDE], parameters: { binary_data_size: 4 * 3 * SIDE * SIDE } }],
  parameters: { binary_data_output: true },
}));
const OCR_BODY = Buffer.concat([OCR_HEADER, Buffer.from(new Float32Array(3 * SIDE * SIDE).fill(0.5).buffer)]);
const OCR_HEADERS = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(OCR_HEADER.length) };

const mlpInput = (seed: number): Tensor => ({
  name: 'input', datatype: 'FP32', shape: [1, MLP_IN], data: Float32Array.from({ length: MLP_IN }, (_, i) => Math.sin(seed * MLP_IN + i)),
});
const json = (b: Buffer) => JSON.parse(b.toString()) as Record<string, unknown>;
const small = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ...extra, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, MLP_IN], data: new Array(MLP_IN).fill(0.5) }] });

describe('scheduling in the live server', () => {
  let dir: string;
  let server: RunningServer;
  let pool: Pool;

  beforeAll(async () => {
    const examples = inject('exampleRepository');
    dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-sched-'));
    await cp(path.join(examples, 'ocr_det'), path.join(dir, 'ocr_det'), { recursive: true });
    // Two priority levels, at most one request waiting in each.
    await cp(path.join(examples, 'ocr_det'), path.join(dir, 'ocr_prio'), { recursive: true });
    await writeFile(path.join(dir, 'ocr_prio', 'config.yaml'), [
      'max_batch_size: 1',
      'dynamic_batching:',
      '  priority_levels: 2',
      '  default_priority_level: 2',
      '  default_queue_policy: { max_queue_size: 1 }',
      '',
    ].join('\n'));
    await cp(path.join(examples, 'mlp'), path.join(dir, 'mlp'), { recursive: true });
    await writeFile(path.join(dir, 'mlp', 'config.yaml'), [
      'max_batch_size: 32',
      `input: [{ name: input, data_type: TYPE_FP32, dims: [${MLP_IN}] }]`,
      'output: [{ name: logits, data_type: TYPE_FP32, dims: [10] }]',
      'dynamic_batching: { max_queue_delay_microseconds: 20000 }',
      '',
    ].join('\n'));
    await cp(path.join(examples, 'mlp'), path.join(dir, 'mlp_prio'), { recursive: true });
    await writeFile(path.join(dir, 'mlp_prio', 'config.yaml'), 'max_batch_size: 32\ndynamic_batching: { priority_levels: 2, default_priority_level: 2 }\n');
    server = await startServer({ modelRepository: dir, httpPort: 0, logLevel: 'silent' });
    pool = new Pool(server.url, { connections: 16 });
  });
  afterAll(async () => {
    await pool?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ocr = async (model: string, parameters?: Record<string, unknown>) => {
    let body = OCR_BODY;
    let headers = OCR_HEADERS;
    if (parameters) {
      const header = Buffer.from(JSON.stringify({ ...JSON.parse(OCR_HEADER.toString()), parameters: { binary_data_output: true, ...parameters } }));
      body = Buffer.concat([header, OCR_BODY.subarray(OCR_HEADER.length)]);
      headers = { ...OCR_HEADERS, 'inference-header-content-length': String(header.length) };
    }
    const r = await pool.request({ path: `/v2/models/${model}/infer`, method: 'POST', body, headers });
    return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
  };

  it('refuses a burst beyond a priority level\'s max_queue_size with 429 and Retry-After', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => ocr('ocr_prio')));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    for (const a of refused) {
      expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(a.body.toString()).toMatch(/priority level 2 full/);
    }
    const metrics = (await get(`${server.url}/metrics`)).body.toString();
    expect(metrics).toMatch(/shoal_refusals_total\{model="ocr_prio",version="1",reason="queue_full"\} [1-9]/);
  });

  it('refuses with 429, before running it, a request whose deadline cannot be met behind the queue', async () => {
    const ahead = Array.from({ length: 3 }, () => ocr('ocr_det'));
    const late = await ocr('ocr_det', { deadline_ms: 5 });
    expect(late.status).toBe(429);
    expect(late.body.toString()).toMatch(/deadline/);
    expect((await Promise.all(ahead)).map((a) => a.status)).toEqual([200, 200, 200]);
  });

  it('answers 400 naming the parameter for an out-of-range priority or a negative timeout', async () => {
    const url = `${server.url}/v2/models/mlp_prio/infer`;
    const high = await post(url, small({ parameters: { priority: 99 } }));
    expect(high.status).toBe(400);
    expect(high.body.toString()).toMatch(/priority 99/);
    const negative = await post(url, small({ parameters: { timeout: -1 } }));
    expect(negative.status).toBe(400);
    expect(negative.body.toString()).toMatch(/timeout/);
    const negativeDeadline = await post(url, small({ parameters: { deadline_ms: -1.5 } }));
    expect(negativeDeadline.status).toBe(400);
    expect(negativeDeadline.body.toString()).toMatch(/deadline_ms/);
    const fine = await post(url, small({ parameters: { priority: 1, timeout: 1_000_000, deadline_ms: 10_000 } }));
    expect(fine.status).toBe(200);
  });

  it('still forms dynamic batches, and every batched answer equals the answer alone', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => mlpInput(i));
    const alone: Tensor[][] = [];
    for (const x of inputs) alone.push(await inferJson(server.url, 'mlp', [x]));
    const together = await Promise.all(inputs.map((x) => inferJson(server.url, 'mlp', [x])));
    together.forEach((outputs, i) => {
      const got = [...(outputs[0]!.data as Float32Array)];
      const want = [...(alone[i]![0]!.data as Float32Array)];
      expect(got.length).toBe(10);
      got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 4));
    });
    const stats = (json((await get(`${server.url}/v2/models/mlp/stats`)).body).model_stats as ModelStatistics[])[0]!;
    expect(stats.batch_stats.some((b) => b.batch_size > 1)).toBe(true);
  });
});
