/**
 * Every example model and every datatype: what shoal serves over HTTP, as JSON and as binary
 * tensors, equals bit for bit what onnxruntime-node computes when the test calls it directly.
 */
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DATATYPES, type DataType } from '../../src/core/datatype.js';
import type { Tensor } from '../../src/core/tensor.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { inferBinary, inferJson, rawBytes } from '../support/client.js';
import { randomTensor } from '../support/data.js';
import { CNN_INPUT } from '../../src/onnx/examples/cnn.js';

const ORT_TYPE: Record<DataType, ort.Tensor.Type> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', INT8: 'int8', INT16: 'int16',
  INT32: 'int32', INT64: 'int64', FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

async function reference(repo: string, model: string, inputs: Tensor[]): Promise<Map<string, Buffer>> {
  const session = await ort.InferenceSession.create(path.join(repo, model, '1', 'model.onnx'));
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of inputs) {
    const data = Array.isArray(t.data) ? t.data.map((b) => new TextDecoder().decode(b)) : t.data;
    feeds[t.name] = new ort.Tensor(ORT_TYPE[t.datatype], data as never, t.shape);
  }
  const out = await session.run(feeds);
  await session.release();
  const result = new Map<string, Buffer>();
  for (const [name, t] of Object.entries(out)) {
    const bytes = t.type === 'string'
      ? Buffer.concat((t.data as string[]).flatMap((s) => { const b = Buffer.from(s); const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return [n, b]; }))
      : Buffer.from((t.data as Uint8Array).buffer, (t.data as Uint8Array).byteOffset, (t.data as Uint8Array).byteLength);
    result.set(name, bytes);
  }
  return result;
}

const ids = (shape: number[], seed: number, vocab: number): Tensor => {
  const t = randomTensor('input_ids', 'INT64', shape, seed);
  return { ...t, data: (t.data as BigInt64Array).map((v) => ((v % BigInt(vocab)) + BigInt(vocab)) % BigInt(vocab)) };
};

const CASES: Array<{ model: string; inputs: Tensor[] }> = [
  { model: 'add_sub', inputs: [randomTensor('INPUT0', 'FP32', [3, 16], 1), randomTensor('INPUT1', 'FP32', [3, 16], 2)] },
  { model: 'identity', inputs: DATATYPES.map((dt, i) => randomTensor(`INPUT_${dt}`, dt, [6], 10 + i)) },
  { model: 'mlp', inputs: [randomTensor('input', 'FP32', [4, 256], 3)] },
  { model: 'cnn', inputs: [randomTensor('input', 'FP32', [2, ...CNN_INPUT], 4)] },
  {
    model: 'text_encoder',
    inputs: [ids([2, 7], 5, 1000), { name: 'attention_mask', datatype: 'INT64', shape: [2, 7], data: BigInt64Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], BigInt) }],
  },
  { model: 'ocr_cls', inputs: [randomTensor('x', 'FP32', [1, 3, 48, 192], 6)] },
  { model: 'ocr_rec', inputs: [randomTensor('x', 'FP32', [1, 3, 48, 64], 7)] },
  { model: 'ocr_det', inputs: [randomTensor('x', 'FP32', [1, 3, 64, 64], 8)] },
  {
    model: 'silero_vad',
    inputs: [
      randomTensor('input', 'FP32', [1, 512], 9),
      { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Float32Array(256) },
      { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.of(16000n) },
    ],
  },
];

describe('served outputs equal onnxruntime-node run directly', () => {
  const repo = inject('exampleRepository');
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ modelRepository: repo, httpPort: 0, logLevel: 'silent' });
  });
  afterAll(() => server.close());

  for (const { model, inputs } of CASES) {
    it(`${model}: JSON and binary`, async () => {
      const expected = await reference(repo, model, inputs);
      for (const served of [await inferJson(server.url, model, inputs), await inferBinary(server.url, model, inputs)]) {
        expect(served.map((o) => o.name).sort()).toEqual([...expected.keys()].sort());
        for (const o of served) {
          expect(rawBytes(o).equals(expected.get(o.name)!), `${model} output ${o.name}`).toBe(true);
        }
      }
    });
  }

  it('identity echoes every datatype exactly, extremes included', async () => {
    const inputs = CASES[1]!.inputs;
    for (const served of [await inferJson(server.url, 'identity', inputs), await inferBinary(server.url, 'identity', inputs)]) {
      for (const t of inputs) {
        const o = served.find((x) => x.name === t.name.replace('INPUT', 'OUTPUT'))!;
        expect(o.datatype).toBe(t.datatype);
        expect(o.shape).toEqual(t.shape);
        expect(rawBytes(o).equals(rawBytes(t)), t.datatype).toBe(true);
      }
    }
  });
});
