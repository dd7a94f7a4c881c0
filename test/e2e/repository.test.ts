/**
 * The model repository as an operator sees it over HTTP: broken models are UNAVAILABLE with a
 * reason and never stop the others, versions follow the policy, load and unload work and keep
 * requests in flight whole, and configuration, statistics and metrics report what happened.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ModelStatistics } from '../../src/core/service.js';
import type { Tensor } from '../../src/core/tensor.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { get, inferJson, post } from '../support/client.js';
import { CNN_INPUT } from '../../src/onnx/examples/cnn.js';

const ADD_INPUTS: Tensor[] = [
  { name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(2) },
  { name: 'INPUT1', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(1) },
];
const json = (b: Buffer) => JSON.parse(b.toString()) as Record<string, unknown>;

describe('model repository over HTTP', () => {
  let dir: string;
  let server: RunningServer;

  beforeAll(async () => {
    const examples = inject('exampleRepository');
    dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-repo-'));
    await cp(path.join(examples, 'add_sub'), path.join(dir, 'add_sub'), { recursive: true });
    // Two versions; the default policy serves the latest only.
    await cp(path.join(examples, 'mlp'), path.join(dir, 'mlp'), { recursive: true });
    await cp(path.join(dir, 'mlp', '1'), path.join(dir, 'mlp', '2'), { recursive: true });
    await cp(path.join(examples, 'ocr_det'), path.join(dir, 'ocr_det'), { recursive: true });
    // A config with a typo'd field.
    await cp(path.join(examples, 'cnn'), path.join(dir, 'typo'), { recursive: true });
    await writeFile(path.join(dir, 'typo', 'config.yaml'), 'max_batch_sise: 4\n');
    // A model file that is not ONNX.
    await mkdir(path.join(dir, 'garbage', '1'), { recursive: true });
    await writeFile(path.join(dir, 'garbage', '1', 'model.onnx'), 'not a model');
    // A config that contradicts its model file.
    await cp(path.join(examples, 'identity_fp32'), path.join(dir, 'mismatch'), { recursive: true });
    await writeFile(path.join(dir, 'mismatch', 'config.yaml'), 'input: [{ name: INPUT_FP32, data_type: TYPE_INT32, dims: [-1] }]\n');
    server = await startServer({ modelRepository: dir, httpPort: 0, logLevel: 'silent' });
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every model with its state, and a reason naming file and field for the broken ones', async () => {
    const r = await post(`${server.url}/v2/repository/index`, '{}');
    expect(r.status).toBe(200);
    const index = JSON.parse(r.body.toString()) as Array<{ name: string; version?: string; state: string; reason: string }>;
    const byName = new Map(index.map((e) => [e.name, e]));
    expect(byName.get('add_sub')!.state).toBe('READY');
    expect(byName.get('typo')).toMatchObject({ state: 'UNAVAILABLE' });
    expect(byName.get('typo')!.reason).toMatch(/typo[/\\]config\.yaml.*max_batch_sise/);
    expect(byName.get('garbage')!.state).toBe('UNAVAILABLE');
    expect(byName.get('garbage')!.reason).toMatch(/garbage[/\\]1[/\\]model\.onnx/);
    expect(byName.get('mismatch')!.reason).toMatch(/INPUT_FP32.*(INT32|FP32)/);

    const ready = JSON.parse((await post(`${server.url}/v2/repository/index`, '{"ready": true}')).body.toString()) as Array<{ name: string }>;
    expect(ready.map((e) => e.name).sort()).toEqual(['add_sub', 'mlp', 'ocr_det']);
  });

  it('serves the healthy models while the broken ones answer 503 with their reason', async () => {
    const [sum] = await inferJson(server.url, 'add_sub', ADD_INPUTS);
    expect([...(sum!.data as Float32Array)]).toEqual(Array(16).fill(3));
    const r = await post(`${server.url}/v2/models/typo/infer`, JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1], data: [1] }] }));
    expect(r.status).toBe(503);
    expect(json(r.body).error).toMatch(/max_batch_sise/);
    expect((await get(`${server.url}/v2/models/typo/ready`)).status).toBe(503);
    expect((await get(`${server.url}/v2/models/add_sub/ready`)).status).toBe(200);
  });

  it('serves the latest version only, under the default version policy', async () => {
    const meta = json((await get(`${server.url}/v2/models/mlp`)).body);
    expect(meta.versions).toEqual(['2']);
    expect((await get(`${server.url}/v2/models/mlp/versions/2/ready`)).status).toBe(200);
    expect((await get(`${server.url}/v2/models/mlp/versions/1`)).status).toBe(404);
  });

  it('reports metadata and configuration in the KServe and Triton shapes', async () => {
    const meta = json((await get(`${server.url}/v2/models/add_sub`)).body);
    expect(meta).toMatchObject({ name: 'add_sub', platform: 'onnxruntime_onnx', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 16] }, { name: 'INPUT1', datatype: 'FP32', shape: [-1, 16] }] });
    const config = json((await get(`${server.url}/v2/models/add_sub/config`)).body);
    expect(config).toMatchObject({ name: 'add_sub', max_batch_size: 8, input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [16] }, { name: 'INPUT1', data_type: 'TYPE_FP32', dims: [16] }] });
    const server_ = json((await get(`${server.url}/v2`)).body);
    expect(server_.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'model_repository', 'statistics']));
  });

  it('counts inferences, executions and time in the statistics extension and in /metrics', async () => {
    const before = json((await get(`${server.url}/v2/models/add_sub/stats`)).body);
    const count = (s: Record<string, unknown>) => ((s.model_stats as Array<{ inference_count: number }>)[0]?.inference_count ?? 0);
    await Promise.all(Array.from({ length: 5 }, () => inferJson(server.url, 'add_sub', ADD_INPUTS)));
    const after = json((await get(`${server.url}/v2/models/add_sub/stats`)).body);
    const stats = (after.model_stats as ModelStatistics[])[0]!;
    expect(count(after) - count(before)).toBe(5);
    expect(stats).toMatchObject({ name: 'add_sub', version: '1' });
    expect(stats.inference_stats.success.count).toBeGreaterThanOrEqual(5);
    expect(stats.inference_stats.compute_infer.ns).toBeGreaterThan(0);
    expect(stats.execution_count).toBeGreaterThan(0);
    expect(stats.batch_stats[0]!.batch_size).toBe(1);

    const all = json((await get(`${server.url}/v2/models/stats`)).body);
    expect((all.model_stats as Array<{ name: string }>).map((s) => s.name)).toEqual(expect.arrayContaining(['add_sub', 'mlp', 'ocr_det']));

    const metrics = (await get(`${server.url}/metrics`)).body.toString();
    const successes = Number(/shoal_inference_requests_total\{model="add_sub",version="1",outcome="success"\} (\d+)/.exec(metrics)?.[1]);
    expect(successes).toBeGreaterThanOrEqual(5);
    expect(metrics).toMatch(/shoal_model_state\{model="typo",state="UNAVAILABLE"\} 1/);
    expect(metrics).toMatch(/shoal_request_duration_seconds_count\{model="add_sub",version="1"\} \d+/);
    expect(metrics).toMatch(/shoal_event_loop_lag_seconds_count \d+/);
  });

  it('splits compute time as Triton does, in the statistics and in /metrics, and the three parts add up to the compute time', async () => {
    // ocr_det is too big to run on the event loop, so every batch crosses to its worker thread and back.
    const side = 64;
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, side, side], parameters: { binary_data_size: 4 * 3 * side * side } }], parameters: { binary_data_output: true } }));
    const body = Buffer.concat([header, Buffer.from(new Float32Array(3 * side * side).fill(0.5).buffer)]);
    const headers = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) };
    for (let k = 0; k < 4; k++) expect((await post(`${server.url}/v2/models/ocr_det/infer`, body, headers)).status).toBe(200);
    const stats = (json((await get(`${server.url}/v2/models/ocr_det/stats`)).body).model_stats as ModelStatistics[])[0]!;
    const { compute_input: input, compute_infer: infer, compute_output: output } = stats.inference_stats;
    expect(infer.count).toBeGreaterThanOrEqual(4);
    expect(input.count).toBe(infer.count);
    expect(output.count).toBe(infer.count);
    // The hand-off to the worker and the way back take time of their own; the model takes the most.
    expect(input.ns).toBeGreaterThan(0);
    expect(output.ns).toBeGreaterThan(0);
    expect(infer.ns).toBeGreaterThan(input.ns);
    const metrics = (await get(`${server.url}/metrics`)).body.toString();
    const computeS = Number(/shoal_compute_duration_seconds_sum\{model="ocr_det",version="1"\} ([\d.e-]+)/.exec(metrics)?.[1]);
    expect((input.ns + infer.ns + output.ns) / 1e9).toBeCloseTo(computeS, 5);
    // /metrics carries the same parts, for dashboards.
    for (const [part, d] of [['input', input], ['infer', infer], ['output', output]] as const) {
      const seconds = Number(new RegExp(`shoal_compute_seconds_total\\{model="ocr_det",version="1",part="${part}"\\} ([\\d.e-]+)`).exec(metrics)?.[1]);
      expect(seconds).toBeCloseTo(d.ns / 1e9, 5);
    }
    // Per batch size too.
    const ones = stats.batch_stats.find((b) => b.batch_size === 1)!;
    expect(ones.compute_input.ns + ones.compute_infer.ns + ones.compute_output.ns).toBeGreaterThan(0);
    expect(ones.compute_output.ns).toBeGreaterThan(0);
  });

  it('unloads a model without breaking the requests it holds, refuses new ones, and loads it again', async () => {
    const side = 640;
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, side, side], parameters: { binary_data_size: 4 * 3 * side * side } }], parameters: { binary_data_output: true } }));
    const body = Buffer.concat([header, Buffer.from(new Float32Array(3 * side * side).fill(0.25).buffer)]);
    const headers = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) };
    const held = Array.from({ length: 3 }, () => post(`${server.url}/v2/models/ocr_det/infer`, body, headers));
    // Unload once the server holds them.
    for (let i = 0; i < 500; i++) {
      const m = (await get(`${server.url}/metrics`)).body.toString();
      if (Number(/^shoal_inflight_requests (\d+)/m.exec(m)?.[1]) >= 1) break;
    }
    const unloaded = post(`${server.url}/v2/repository/models/ocr_det/unload`, '');
    const answers = await Promise.all(held);
    expect((await unloaded).status).toBe(200);
    const okCount = answers.filter((a) => a.status === 200).length;
    expect(okCount).toBeGreaterThanOrEqual(1);
    for (const a of answers) if (a.status !== 200) expect(json(a.body).error).toMatch(/ocr_det/);

    expect((await get(`${server.url}/v2/models/ocr_det/ready`)).status).toBe(503);
    const refused = await post(`${server.url}/v2/models/ocr_det/infer`, body, headers);
    expect(refused.status).toBe(503);

    expect((await post(`${server.url}/v2/repository/models/ocr_det/load`, '')).status).toBe(200);
    expect((await get(`${server.url}/v2/models/ocr_det/ready`)).status).toBe(200);
    expect((await post(`${server.url}/v2/models/ocr_det/infer`, body, headers)).status).toBe(200);
  });

  it('a load racing an unload ends in a defined state, and loading an unknown model is 404', async () => {
    const results = await Promise.all([
      post(`${server.url}/v2/repository/models/add_sub/unload`, ''),
      post(`${server.url}/v2/repository/models/add_sub/load`, ''),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    // Operations on one model run in order: the load came second, so the model is ready.
    expect((await get(`${server.url}/v2/models/add_sub/ready`)).status).toBe(200);
    expect((await post(`${server.url}/v2/repository/models/nope/load`, '')).status).toBe(404);
    expect((await post(`${server.url}/v2/repository/models/..%2Fetc/load`, '')).status).toBe(400);
  });

  it('reloads a model whose config was fixed on disk', async () => {
    await writeFile(path.join(dir, 'typo', 'config.yaml'), 'max_batch_size: 4\n');
    expect((await post(`${server.url}/v2/repository/models/typo/load`, '')).status).toBe(200);
    const r = await post(`${server.url}/v2/models/typo/infer`, JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [2, ...CNN_INPUT], data: new Array(2 * CNN_INPUT.reduce((a, b) => a * b, 1)).fill(0.1) }] }));
    expect(r.status, r.body.toString()).toBe(200);
    expect((json(r.body).outputs as Array<{ shape: number[] }>)[0]!.shape).toEqual([2, 10]);
  });
});
