/**
 * OnnxBackend keeps session worker threads between sessions (spare-workers.ts), so that a load
 * does not start a thread and import onnxruntime: real onnxruntime, real model files, and what a
 * reused thread answers is checked against the model it now holds.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SIZED_INPUT, sizedAnswer, writeSizedRepository } from '../../bench/lib/sized-models.js';
import type { BackendSession, LoadSpec } from '../../src/backends/backend.js';
import { OnnxBackend } from '../../src/backends/onnx/onnx-backend.js';
import { TINY_MODEL } from '../../src/backends/onnx/spare-workers.js';
import { identityFp32 } from '../../src/onnx/examples/identity.js';
import { systemClock } from '../../src/core/clock.js';
import { ModelManager } from '../../src/models/model-manager.js';

let dir: string;
const MODELS = [{ name: 'a', tag: 1 }, { name: 'b', tag: 2 }, { name: 'broken', tag: 3 }];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-spares-'));
  await writeSizedRepository(dir, MODELS.map((m) => ({ ...m, bytes: 64 * 1024 })));
  await writeFile(path.join(dir, 'broken', '1', 'model.onnx'), 'not an onnx model');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = (name: string): LoadSpec => ({ path: path.join(dir, name, '1', 'model.onnx'), intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
const row = Array.from({ length: SIZED_INPUT }, (_, i) => i - 3);

async function answer(s: BackendSession): Promise<number> {
  const [y] = await s.run([{ name: 'x', datatype: 'FP32', shape: [1, SIZED_INPUT], data: Float32Array.from(row) }], ['y']);
  return (y!.data as Float32Array)[0]!;
}

describe('OnnxBackend worker threads', () => {
  it('warms the runtime with the example identity_fp32, built in', () => {
    expect(Buffer.from(TINY_MODEL).equals(Buffer.from(identityFp32.build(1)))).toBe(true);
  });

  it('hands an unloaded session\'s thread to the next load, which answers for its own model', async () => {
    const backend = new OnnxBackend({ spareWorkers: 1 });
    const a = await backend.load(spec('a'));
    expect(backend.spareCount).toBe(0);
    expect(await answer(a)).toBeCloseTo(sizedAnswer(1, row), 3);
    await a.unload();
    expect(backend.spareCount).toBe(1);
    const b = await backend.load(spec('b'));
    expect(backend.spareCount).toBe(0);
    expect(await answer(b)).toBeCloseTo(sizedAnswer(2, row), 3);
    // The figure still counts at least the weights, though the thread was there before.
    expect(b.footprintBytes).toBeGreaterThanOrEqual((await stat(spec('b').path)).size);
    await expect(answer(a)).rejects.toThrow(/unloaded/);
    await b.unload();
    await backend.close();
    expect(backend.spareCount).toBe(0);
  });

  it('keeps at most `spareWorkers` idle: further unloads end their threads', async () => {
    const backend = new OnnxBackend({ spareWorkers: 1 });
    const [a, b] = [await backend.load(spec('a')), await backend.load(spec('b'))];
    await Promise.all([a.unload(), b.unload()]);
    expect(backend.spareCount).toBe(1);
    await backend.close();
    const none = new OnnxBackend({ spareWorkers: 0 });
    const c = await none.load(spec('a'));
    await c.unload();
    expect(none.spareCount).toBe(0);
  });

  it('starts spares ahead with prepare; close ends them, and a load after it starts its own thread', async () => {
    const backend = new OnnxBackend({ spareWorkers: 2 });
    await backend.prepare();
    expect(backend.spareCount).toBe(2);
    await backend.close();
    expect(backend.spareCount).toBe(0);
    const a = await backend.load(spec('a'));
    expect(await answer(a)).toBeCloseTo(sizedAnswer(1, row), 3);
    await a.unload();
    await backend.close();
  });

  it('a model onnxruntime refuses leaves its thread ready for the next load', async () => {
    const backend = new OnnxBackend({ spareWorkers: 1 });
    await backend.prepare();
    await expect(backend.load(spec('broken'))).rejects.toThrow(/onnxruntime could not load the model/);
    expect(backend.spareCount).toBe(1);
    const a = await backend.load(spec('a'));
    expect(backend.spareCount).toBe(0);
    expect(await answer(a)).toBeCloseTo(sizedAnswer(1, row), 3);
    await a.unload();
    await backend.close();
  });

  it('in on-demand mode the manager has spares ready before the first request, and ends them when it unloads everything', async () => {
    const backend = new OnnxBackend({ spareWorkers: 2 });
    const manager = new ModelManager({ repository: dir, backend, clock: systemClock, maxQueueSize: 4, cores: 1, controlMode: 'on-demand', memoryBudgetBytes: 1 << 30 });
    await manager.loadAll();
    await vi.waitFor(() => expect(backend.spareCount).toBe(2), { timeout: 20_000, interval: 20 });
    const v = await manager.acquire('a');
    expect(await answer(v.sessions[0]!)).toBeCloseTo(sizedAnswer(1, row), 3);
    manager.release(v);
    await manager.unloadAll();
    expect(backend.spareCount).toBe(0);
  });
});
