/**
 * OnnxSession's two ways to run a batch (its worker thread, or a second session on the event
 * loop for models whose compute is cheaper than the hop) answer alike: every datatype bit for
 * bit, the same errors, and unloading releases both.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BackendSession, LoadSpec } from '../../src/backends/backend.js';
import { OnnxBackend } from '../../src/backends/onnx/onnx-backend.js';
import type { Placement } from '../../src/backends/onnx/placement.js';
import { DATATYPES } from '../../src/core/datatype.js';
import { ShoalError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import { randomTensor } from '../support/data.js';
import { CNN_INPUT } from '../../src/onnx/examples/cnn.js';

type Placed = BackendSession & { placed: { inline: number; worker: number } };

const spec = (model: string): LoadSpec => ({
  path: path.join(inject('exampleRepository'), model, '1', 'model.onnx'),
  intraOpThreads: 1,
  interOpThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
});

const bytesOf = (t: Tensor): unknown => (Array.isArray(t.data)
  ? t.data.map((b) => Buffer.from(b).toString('hex'))
  : Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex'));

const identityInputs = (seed: number): Tensor[] =>
  DATATYPES.map((dt, k) => randomTensor(`INPUT_${dt}`, dt, [3 + k], seed * 100 + k));

async function load(model: string, placement?: Placement): Promise<Placed> {
  const backend = new OnnxBackend(placement ? { placement: () => placement } : {});
  return (await backend.load(spec(model))) as Placed;
}

describe.each(['inline', 'worker'] as const)('a session pinned to %s', (placement) => {
  let session: Placed;
  beforeAll(async () => {
    session = await load('identity', placement);
  });
  afterAll(async () => {
    await session.unload();
  });

  it('passes every datatype through bit for bit', async () => {
    const outputs = DATATYPES.map((dt) => `OUTPUT_${dt}`);
    for (let seed = 1; seed <= 6; seed++) {
      const inputs = identityInputs(seed);
      const got = await session.run(inputs, outputs);
      expect(got.map((t) => [t.name, t.datatype, t.shape])).toEqual(inputs.map((t) => [t.name.replace('INPUT', 'OUTPUT'), t.datatype, t.shape]));
      expect(got.map(bytesOf)).toEqual(inputs.map(bytesOf));
    }
    // The first batch goes to the worker while the inline session loads.
    if (placement === 'inline') expect(session.placed.inline).toBeGreaterThanOrEqual(4);
    else expect(session.placed.inline).toBe(0);
  });

  it('leaves the caller’s input data where it was', async () => {
    const inputs = identityInputs(9);
    const before = inputs.map(bytesOf);
    await session.run(inputs, DATATYPES.map((dt) => `OUTPUT_${dt}`));
    expect(inputs.map(bytesOf)).toEqual(before);
  });

  it('refuses what onnxruntime cannot take with the same error', async () => {
    const inputs = identityInputs(3);
    const wrong = inputs.map((t) => (t.name === 'INPUT_FP32' ? { ...t, datatype: 'INT32' as const, data: new Int32Array(t.data.length) } : t));
    const err = await session.run(wrong, ['OUTPUT_FP32']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShoalError);
    expect((err as ShoalError).kind).toBe('invalid_argument');
    expect((err as ShoalError).message).toMatch(/^the model could not run on this input: /);

    const nul = inputs.map((t) => (t.datatype === 'BYTES' ? { ...t, data: [new Uint8Array([97, 0, 98])], shape: [1] } : t));
    const err2 = await session.run(nul, ['OUTPUT_BYTES']).catch((e: unknown) => e);
    expect((err2 as ShoalError).kind).toBe('invalid_argument');
    expect((err2 as ShoalError).message).toMatch(/NUL byte/);
  });
});

describe('the measured choice', () => {
  it('runs a tiny model inline once measured, and answers the same', async () => {
    const session = await load('identity_fp32');
    try {
      for (let i = 0; i < 300; i++) {
        const input = randomTensor('INPUT_FP32', 'FP32', [16], i);
        const [out] = await session.run([input], ['OUTPUT_FP32']);
        expect(bytesOf(out!)).toEqual(bytesOf(input));
      }
      // Its compute (tens of µs at most) is below a thread hop on any machine this runs on.
      expect(session.placed.worker).toBeGreaterThan(0);
      expect(session.placed.inline).toBeGreaterThan(0);
    } finally {
      await session.unload();
    }
  });

  it('keeps a batch that takes longer than the cap on the worker', async () => {
    const session = await load('cnn');
    try {
      const input = randomTensor('input', 'FP32', [32, ...CNN_INPUT], 5);
      for (let i = 0; i < 20; i++) await session.run([input], ['logits']);
      expect(session.placed.inline).toBe(0);
    } finally {
      await session.unload();
    }
  });

  it('refuses batches once unloaded', async () => {
    const session = await load('identity_fp32', 'inline');
    const input = randomTensor('INPUT_FP32', 'FP32', [4], 1);
    for (let i = 0; i < 3; i++) await session.run([input], ['OUTPUT_FP32']);
    expect(session.placed.inline).toBeGreaterThan(0);
    await session.unload();
    const err = await session.run([input], ['OUTPUT_FP32']).catch((e: unknown) => e);
    expect((err as ShoalError).kind).toBe('unavailable');
  });
});
