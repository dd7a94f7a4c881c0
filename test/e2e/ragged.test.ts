/**
 * Ragged batching in the live server with the text_encoder example, whose config pads
 * input_ids and attention_mask along their sequence dimension: requests of different lengths
 * share a batch, and each answer comes back at its own length with the values it has when it
 * runs alone. Without `pad`, the same requests never share a batch.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ModelStatistics } from '../../src/core/service.js';
import type { Tensor } from '../../src/core/tensor.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { get, inferJson } from '../support/client.js';

const HIDDEN = 64;
const PADDED = 'max_batch_size: 16\ndynamic_batching: { max_queue_delay_microseconds: 200000 }\n';

/** One request of `length` tokens (ids from a seed), the last `masked` of them the client's own padding. */
function tokens(length: number, seed: number, masked = 0): Tensor[] {
  const ids = BigInt64Array.from({ length }, (_, i) => BigInt((seed * 131 + i * 17) % 1000));
  const mask = BigInt64Array.from({ length }, (_, i) => (i < length - masked ? 1n : 0n));
  return [
    { name: 'input_ids', datatype: 'INT64', shape: [1, length], data: ids },
    { name: 'attention_mask', datatype: 'INT64', shape: [1, length], data: mask },
  ];
}

describe('ragged batching by padding (text_encoder)', () => {
  let dir: string;
  let server: RunningServer;

  beforeAll(async () => {
    const examples = inject('exampleRepository');
    dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-ragged-'));
    // The example's own config (with its pad entries) plus dynamic batching; and a copy without pad.
    await cp(path.join(examples, 'text_encoder'), path.join(dir, 'text_encoder'), { recursive: true });
    const config = await readFile(path.join(examples, 'text_encoder', 'config.yaml'), 'utf8');
    expect(config.match(/name: sequence/g)).toHaveLength(3);
    const padded = config.replace('max_batch_size: 16\n', PADDED);
    await writeFile(path.join(dir, 'text_encoder', 'config.yaml'), padded);
    await cp(path.join(examples, 'text_encoder', '1'), path.join(dir, 'unpadded', '1'), { recursive: true });
    await writeFile(path.join(dir, 'unpadded', 'config.yaml'), PADDED);
    server = await startServer({ modelRepository: dir, httpPort: 0, logLevel: 'silent' });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const stats = async (model: string) => {
    const r = await get(`${server.url}/v2/models/${model}/stats`);
    return (JSON.parse(r.body.toString()) as { model_stats: ModelStatistics[] }).model_stats[0]!;
  };

  it('batches requests of different lengths and answers each at its own length, as it runs alone', async () => {
    const requests = [2, 9, 5, 3, 7, 4].map((n, k) => tokens(n, k + 1, k === 1 ? 3 : 0));
    const alone: Tensor[] = [];
    for (const r of requests) alone.push((await inferJson(server.url, 'text_encoder', r))[0]!);
    const before = await stats('text_encoder');
    expect(before.batch_stats.map((b) => b.batch_size)).toEqual([1]);

    const together = await Promise.all(requests.map(async (r) => (await inferJson(server.url, 'text_encoder', r))[0]!));
    const after = await stats('text_encoder');
    expect(after.execution_count - before.execution_count).toBeLessThan(requests.length);
    expect(Math.max(...after.batch_stats.map((b) => b.batch_size))).toBeGreaterThan(1);

    let worst = 0;
    together.forEach((t, k) => {
      expect(t.shape).toEqual([1, requests[k]![0]!.shape[1], HIDDEN]);
      const a = alone[k]!.data as Float32Array;
      (t.data as Float32Array).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - a[i]!))));
    });
    // The padded keys get attention weight exactly 0 (the mask adds -1e9 before softmax), so
    // only the order of float additions over a longer row could differ, in the last bits; on
    // this machine the answers come out bit for bit equal (worst 0).
    expect(worst).toBeLessThan(1e-5);
  });

  it('never batches requests of different lengths for a model without pad', async () => {
    const before = await stats('unpadded');
    const requests = [3, 6, 3, 6].map((n, k) => tokens(n, k));
    const answers = await Promise.all(requests.map((r) => inferJson(server.url, 'unpadded', r)));
    answers.forEach((a, k) => expect(a[0]!.shape).toEqual([1, requests[k]![0]!.shape[1], HIDDEN]));
    const after = await stats('unpadded');
    // Two lengths: at most two requests per batch, and at least two batches.
    expect(after.execution_count - before.execution_count).toBeGreaterThanOrEqual(2);
    expect(Math.max(...after.batch_stats.map((b) => b.batch_size))).toBeLessThanOrEqual(2);
  });
});
