import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, uniform } from '../../src/onnx/builder.js';
import { writeExampleRepository } from '../../src/onnx/examples.js';
import { CNN_INPUT } from '../../src/onnx/examples/cnn.js';
import { MLP_SIZES, mlpWeights } from '../../src/onnx/examples/mlp.js';
import { decodeModel } from '../../src/onnx/proto.js';

// What a user would check once the example models are served: the numbers are right.

const SEED = 11;
let repo: string;
const modelPath = (name: string) => join(repo, name, '1', 'model.onnx');
const open = (name: string) => ort.InferenceSession.create(modelPath(name));
const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
const int64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
const bits = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'shoal-models-'));
  await writeExampleRepository(repo, { seed: SEED, includePretrained: false });
});
afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe('add_sub', () => {
  it('returns a+b and a-b exactly', async () => {
    const random = mulberry32(3);
    const a = uniform(random, 3 * 16, 1000);
    const b = uniform(random, 3 * 16, 1000);
    const out = await (await open('add_sub')).run({ INPUT0: f32(a, [3, 16]), INPUT1: f32(b, [3, 16]) });
    // float32 + float32, rounded once to float32, is what fround of the exact double sum gives.
    expect(out.OUTPUT0!.data).toEqual(a.map((x, i) => Math.fround(x + b[i]!)));
    expect(out.OUTPUT1!.data).toEqual(a.map((x, i) => Math.fround(x - b[i]!)));
  });
});

describe('identity', () => {
  const cases: Record<string, ort.Tensor> = {
    BOOL: new ort.Tensor('bool', Uint8Array.of(1, 0, 0, 1), [4]),
    UINT8: new ort.Tensor('uint8', Uint8Array.of(0, 1, 255), [3]),
    UINT16: new ort.Tensor('uint16', Uint16Array.of(0, 65535), [2]),
    UINT32: new ort.Tensor('uint32', Uint32Array.of(0, 1, 4294967295), [3]),
    UINT64: new ort.Tensor('uint64', BigUint64Array.of(0n, 1n, 2n ** 64n - 1n), [3]),
    INT8: new ort.Tensor('int8', Int8Array.of(-128, -1, 0, 127), [4]),
    INT16: new ort.Tensor('int16', Int16Array.of(-32768, 32767), [2]),
    INT32: new ort.Tensor('int32', Int32Array.of(-(2 ** 31), 0, 2 ** 31 - 1), [3]),
    INT64: new ort.Tensor('int64', BigInt64Array.of(-(2n ** 63n), -1n, 2n ** 63n - 1n), [3]),
    // FP16 as raw half bits: 1, -0, +inf, smallest subnormal, largest finite, a NaN.
    FP16: new ort.Tensor('float16', Uint16Array.of(0x3c00, 0x8000, 0x7c00, 0x0001, 0x7bff, 0x7e01), [6]),
    FP32: new ort.Tensor('float32', Float32Array.of(-0, NaN, -Infinity, 1e-45, 3.4028234663852886e38), [5]),
    FP64: new ort.Tensor('float64', Float64Array.of(-0, NaN, Infinity, 5e-324, Number.MAX_VALUE, Math.PI), [6]),
    BYTES: new ort.Tensor('string', ['', 'shoal', 'ünïcødé 🐟', ' \t\n'], [4]),
  };
  const feeds = (replace: Record<string, ort.Tensor> = {}) =>
    Object.fromEntries(Object.entries({ ...cases, ...replace }).map(([dt, t]) => [`INPUT_${dt}`, t]));

  it('returns every datatype bit for bit', async () => {
    const out = await (await open('identity')).run(feeds());
    for (const [dt, input] of Object.entries(cases)) {
      const output = out[`OUTPUT_${dt}`]!;
      expect(output.type, dt).toBe(input.type);
      expect(output.dims, dt).toEqual(input.dims);
      if (dt === 'BYTES') expect(output.data).toEqual(input.data);
      else expect(bits(output.data as ArrayBufferView), dt).toEqual(bits(input.data as ArrayBufferView));
    }
  });

  // A gap in onnxruntime-node, not in the model: string inputs are cut at the first NUL on the
  // way in (string outputs keep theirs). Should this start failing, the gap has closed.
  it('loses what follows a NUL in a BYTES input (onnxruntime-node limitation)', async () => {
    const out = await (await open('identity')).run(feeds({ BYTES: new ort.Tensor('string', ['a\u0000b'], [1]) }));
    expect(out.OUTPUT_BYTES!.data).toEqual(['a']);
  });
});

describe('mlp', () => {
  it('stores the weights mlpWeights(seed) describes', async () => {
    const model = decodeModel(await readFile(modelPath('mlp')));
    const stored = Object.fromEntries(model.graph.initializer.map((t) => [t.name, t]));
    const layers = mlpWeights(SEED);
    expect(Object.keys(stored)).toHaveLength(2 * layers.length);
    layers.forEach((l, k) => {
      // Buffer.equals, not toEqual: vitest compares megabytes element by element and runs out of memory.
      expect(bits(stored[`fc${k + 1}.weight`]!.raw_data!).equals(bits(l.weight)), `fc${k + 1}.weight`).toBe(true);
      expect(bits(stored[`fc${k + 1}.bias`]!.raw_data!).equals(bits(l.bias)), `fc${k + 1}.bias`).toBe(true);
    });
  });

  it('matches a plain-JS forward pass of the same weights', async () => {
    const { input, classes } = MLP_SIZES;
    const batch = 3;
    const x = uniform(mulberry32(5), batch * input, 2);
    const out = await (await open('mlp')).run({ input: f32(x, [batch, input]) });
    const layers = mlpWeights(SEED);
    const expected: number[] = [];
    for (let n = 0; n < batch; n++) {
      let a: number[] = Array.from(x.subarray(n * input, (n + 1) * input));
      layers.forEach((l, k) => {
        const last = k === layers.length - 1;
        a = Array.from({ length: l.out }, (_, j) => {
          let s = l.bias[j]!;
          for (let i = 0; i < l.in; i++) s += a[i]! * l.weight[j * l.in + i]!;
          return last ? s : Math.max(0, s);
        });
      });
      expected.push(...a);
    }
    expect(out.logits!.dims).toEqual([batch, classes]);
    expect(maxAbsDiff(out.logits!.data as Float32Array, expected)).toBeLessThan(1e-4);
  });
});

describe('cnn', () => {
  it('gives a batch of two the same logits as two single runs', async () => {
    const session = await open('cnn');
    const per = CNN_INPUT.reduce((a, b) => a * b, 1);
    const images = uniform(mulberry32(6), 2 * per, 1);
    const both = (await session.run({ input: f32(images, [2, ...CNN_INPUT]) })).logits!;
    expect(both.dims).toEqual([2, 10]);
    for (let n = 0; n < 2; n++) {
      const one = (await session.run({ input: f32(images.slice(n * per, (n + 1) * per), [1, ...CNN_INPUT]) })).logits!;
      const row = (both.data as Float32Array).subarray(n * 10, (n + 1) * 10);
      expect(maxAbsDiff(row, one.data as Float32Array)).toBeLessThan(1e-6);
    }
  });
});

describe('text_encoder', () => {
  const d = 64;
  const tokens = [101, 7, 512, 999, 3];
  const encode = async (ids: number[][], mask: number[][]) => {
    const session = await open('text_encoder');
    const dims = [ids.length, ids[0]!.length];
    const out = await session.run({ input_ids: int64(ids.flat(), dims), attention_mask: int64(mask.flat(), dims) });
    return out.last_hidden_state!;
  };
  /** The hidden states of the first `count` positions of sequence `row`. */
  const states = (t: ort.Tensor, row: number, count: number) => {
    const seq = t.dims[1]!;
    return (t.data as Float32Array).subarray(row * seq * d, (row * seq + count) * d);
  };

  it('gives the real tokens the same states whether or not masked padding follows', async () => {
    const alone = await encode([tokens], [[1, 1, 1, 1, 1]]);
    expect(alone.dims).toEqual([1, 5, d]);
    const padded = await encode([[...tokens, 0, 0, 0]], [[1, 1, 1, 1, 1, 0, 0, 0]]);
    expect(padded.dims).toEqual([1, 8, d]);
    expect(maxAbsDiff(states(padded, 0, 5), states(alone, 0, 5))).toBeLessThan(1e-4);

    // In a batch, a short padded sequence next to a full one.
    const other = [5, 6, 7, 8, 9, 10, 11, 12];
    const batch = await encode([[...tokens, 0, 0, 0], other], [[1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]]);
    const otherAlone = await encode([other], [[1, 1, 1, 1, 1, 1, 1, 1]]);
    expect(maxAbsDiff(states(batch, 0, 5), states(alone, 0, 5))).toBeLessThan(1e-4);
    expect(maxAbsDiff(states(batch, 1, 8), states(otherAlone, 0, 8))).toBeLessThan(1e-4);
  });

  it('lets unmasked padding change the states, so the mask is really applied', async () => {
    const alone = await encode([tokens], [[1, 1, 1, 1, 1]]);
    const attended = await encode([[...tokens, 0, 0, 0]], [[1, 1, 1, 1, 1, 1, 1, 1]]);
    expect(maxAbsDiff(states(attended, 0, 5), states(alone, 0, 5))).toBeGreaterThan(1e-3);
  });

  it('normalises every state (LayerNorm last), with finite values', async () => {
    const t = await encode([tokens], [[1, 1, 1, 1, 1]]);
    const data = t.data as Float32Array;
    expect(data.every(Number.isFinite)).toBe(true);
    for (let p = 0; p < 5; p++) {
      const v = data.subarray(p * d, (p + 1) * d);
      const mean = v.reduce((a, b) => a + b, 0) / d;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / d);
      // The norm's scale is 1 ± 0.1 and its shift ± 0.1, so a unit-ish spread around a small mean.
      expect(Math.abs(mean)).toBeLessThan(0.2);
      expect(sd).toBeGreaterThan(0.8);
      expect(sd).toBeLessThan(1.2);
    }
  });
});
