import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { numberToHalf } from '../../src/core/datatype.js';
import { ModelBuilder, attr, mulberry32, seededRandom, uniform } from '../../src/onnx/builder.js';
import { decodeModel } from '../../src/onnx/proto.js';

const load = (b: ModelBuilder) => ort.InferenceSession.create(b.toBytes());

/** The bytes behind a typed array, to compare floats bit for bit (NaN, -0). */
const bits = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('ModelBuilder', () => {
  it('writes a model onnxruntime loads, with its inputs, outputs and symbolic dims', async () => {
    const b = new ModelBuilder('relu');
    b.input('x', 'FP32', ['batch', -1, 3]);
    b.op('LeakyRelu', ['x'], { alpha: attr.float(0.25) }, 'y');
    b.output('y', 'FP32', ['batch', -1, 3]);
    const session = await load(b);
    expect(session.inputMetadata).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', '', 3] }]);
    expect(session.outputNames).toEqual(['y']);
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.of(-4, 0, 2), [1, 1, 3]) });
    expect(Array.from(y!.data as Float32Array)).toEqual([-1, 0, 2]);
  });

  it('writes ints, floats, int, float, string and tensor attributes', async () => {
    const b = new ModelBuilder('constants');
    b.node('Constant', [], ['i'], { value_int: attr.int(-7) });
    b.node('Constant', [], ['f'], { value_float: attr.float(0.5) });
    b.node('Constant', [], ['is'], { value_ints: attr.ints([1, -2, 2 ** 40]) });
    b.node('Constant', [], ['fs'], { value_floats: attr.floats([1.5, -0.25]) });
    b.node('Constant', [], ['s'], { value_string: attr.string('héllo 🐟') });
    b.node('Constant', [], ['t'], { value: attr.tensor('INT32', [2, 2], [1, 2, 3, -4]) });
    b.output('i', 'INT64', []);
    b.output('f', 'FP32', []);
    b.output('is', 'INT64', [3]);
    b.output('fs', 'FP32', [2]);
    b.output('s', 'BYTES', []);
    b.output('t', 'INT32', [2, 2]);
    const out = await (await load(b)).run({});
    expect(out.i!.data).toEqual(BigInt64Array.of(-7n));
    expect(out.f!.data).toEqual(Float32Array.of(0.5));
    expect(out.is!.data).toEqual(BigInt64Array.of(1n, -2n, 2n ** 40n));
    expect(out.fs!.data).toEqual(Float32Array.of(1.5, -0.25));
    expect(out.s!.data).toEqual(['héllo 🐟']);
    expect(out.t!.dims).toEqual([2, 2]);
    expect(out.t!.data).toEqual(Int32Array.of(1, 2, 3, -4));
  });

  it('stores initializers of every datatype exactly', async () => {
    const b = new ModelBuilder('initializers');
    const cases = {
      BOOL: { type: 'bool', data: Uint8Array.of(1, 0, 1) },
      UINT8: { type: 'uint8', data: Uint8Array.of(0, 255) },
      UINT16: { type: 'uint16', data: Uint16Array.of(0, 65535) },
      UINT32: { type: 'uint32', data: Uint32Array.of(0, 4294967295) },
      UINT64: { type: 'uint64', data: BigUint64Array.of(0n, 2n ** 64n - 1n) },
      INT8: { type: 'int8', data: Int8Array.of(-128, 127) },
      INT16: { type: 'int16', data: Int16Array.of(-32768, 32767) },
      INT32: { type: 'int32', data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1) },
      INT64: { type: 'int64', data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) },
      FP16: { type: 'float16', data: Uint16Array.of(0x3c00, 0x8000, 0x7c00, 0x0001) },
      FP32: { type: 'float32', data: Float32Array.of(-0, NaN, Infinity, 1e-45, 3.4028234663852886e38) },
      FP64: { type: 'float64', data: Float64Array.of(-0, NaN, -Infinity, 5e-324, Number.MAX_VALUE) },
    } as const;
    for (const [dt, c] of Object.entries(cases)) {
      b.initializer(`w_${dt}`, dt as keyof typeof cases, [c.data.length], c.data);
      b.node('Identity', [`w_${dt}`], [dt]);
      b.output(dt, dt as keyof typeof cases, [c.data.length]);
    }
    // Plain numbers are values (FP16 included), strings are UTF-8.
    b.initializer('halves', 'FP16', [2], [1, -2.5]);
    b.node('Identity', ['halves'], ['HALVES']);
    b.output('HALVES', 'FP16', [2]);
    b.initializer('words', 'BYTES', [4], ['', 'fish', 'poisson 🐟', 'nul\u0000inside']);
    b.node('Identity', ['words'], ['WORDS']);
    b.output('WORDS', 'BYTES', [4]);

    const session = await load(b);
    const out = await session.run({});
    for (const [dt, c] of Object.entries(cases)) {
      expect(out[dt]!.type, dt).toBe(c.type);
      expect(bits(out[dt]!.data as ArrayBufferView), dt).toEqual(bits(c.data));
    }
    expect(out.HALVES!.data).toEqual(Uint16Array.of(numberToHalf(1), numberToHalf(-2.5)));
    expect(out.WORDS!.data).toEqual(['', 'fish', 'poisson 🐟', 'nul\u0000inside']);
  });

  it('uses the ONNX field numbers (decoded back with the same schema)', () => {
    const b = new ModelBuilder('tiny');
    b.input('x', 'INT64', ['n']);
    b.initializer('k', 'INT64', [1], [3]);
    b.op('Add', ['x', 'k'], {}, 'y');
    b.output('y', 'INT64', ['n']);
    const bytes = b.toBytes();
    // Field 1 (ir_version) as a varint: tag byte (1 << 3 | 0) then the value 8.
    expect(Array.from(bytes.subarray(0, 2))).toEqual([0x08, 8]);
    const model = decodeModel(bytes);
    expect(model.opset_import).toMatchObject([{ version: 17 }]);
    expect(model.opset_import[0]!.domain ?? '').toBe(''); // the default domain, ai.onnx
    expect(model.graph.node[0]).toMatchObject({ op_type: 'Add', input: ['x', 'k'], output: ['y'] });
    expect(model.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'n' }]);
  });

  it('rejects graphs with dangling or duplicated names and mis-sized tensors', () => {
    const b = new ModelBuilder('bad');
    b.input('x', 'FP32', [2]);
    expect(() => b.op('Relu', ['nope'])).toThrow(/unknown input 'nope'/);
    expect(() => b.input('x', 'FP32', [2])).toThrow(/defined twice/);
    expect(() => b.initializer('w', 'FP32', [3], [1, 2])).toThrow(/2 values/);
    expect(() => b.initializer('v', 'FP32', [2], Float64Array.of(1, 2))).toThrow(/Float64Array/);
    b.output('missing', 'FP32', [2]);
    expect(() => b.toBytes()).toThrow(/not produced/);
  });
});

describe('seeded weights', () => {
  it('repeat for a seed and differ across seeds and streams', () => {
    const draw = (r: () => number) => Array.from({ length: 5 }, r);
    expect(draw(mulberry32(1))).toEqual(draw(mulberry32(1)));
    expect(draw(mulberry32(1))).not.toEqual(draw(mulberry32(2)));
    expect(draw(seededRandom(1, 'mlp'))).not.toEqual(draw(seededRandom(1, 'cnn')));
    expect(draw(mulberry32(0)).every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('stay within the bound', () => {
    const w = uniform(mulberry32(9), 10_000, 0.125);
    expect(Math.max(...w)).toBeLessThanOrEqual(0.125);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-0.125);
    expect(Math.max(...w) - Math.min(...w)).toBeGreaterThan(0.24);
  });
});
