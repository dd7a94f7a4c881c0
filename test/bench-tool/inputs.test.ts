/** Request inputs from model metadata or a file, their encodings, and the flags that shape them. */
import { describe, expect, it } from 'vitest';
import { benchOptions, type RawBenchFlags } from '../../src/bench/command.js';
import { encodeBinary, encodeJson, parseInputData, randomTensor } from '../../src/bench/payload.js';
import { rng } from '../../src/bench/random.js';
import { concreteShapes, parseShapeFlag, type ModelMetadata } from '../../src/bench/shapes.js';

const addSub: ModelMetadata = { name: 'add_sub', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 16] }, { name: 'INPUT1', datatype: 'FP32', shape: [-1, 16] }] };
const identity: ModelMetadata = { name: 'identity_fp32', inputs: [{ name: 'INPUT_FP32', datatype: 'FP32', shape: [-1] }] };
const text: ModelMetadata = { name: 'text', inputs: [{ name: 'ids', datatype: 'INT64', shape: [-1, -1] }] };

describe('concrete shapes', () => {
  it('a batched model gets the batch size in its first dimension', () => {
    expect(concreteShapes(addSub, { batch: 1, shapes: {}, maxBatchSize: 8 }).map((t) => t.shape)).toEqual([[1, 16], [1, 16]]);
    expect(concreteShapes(addSub, { batch: 4, shapes: {} }).map((t) => t.shape)).toEqual([[4, 16], [4, 16]]);
    expect(() => concreteShapes(addSub, { batch: 9, shapes: {}, maxBatchSize: 8 })).toThrow(/max_batch_size 8/);
  });

  it('an unbatched model (max_batch_size 0) needs --dim or --shape for its variable dimensions', () => {
    expect(() => concreteShapes(identity, { batch: 1, shapes: {}, maxBatchSize: 0 })).toThrow(/--dim N .* --shape INPUT_FP32=N/);
    expect(concreteShapes(identity, { batch: 1, dim: 16, shapes: {}, maxBatchSize: 0 })[0]!.shape).toEqual([16]);
    expect(concreteShapes(identity, { batch: 1, shapes: { INPUT_FP32: [32] }, maxBatchSize: 0 })[0]!.shape).toEqual([32]);
  });

  it('--dim fills the dimensions after the batch', () => {
    expect(concreteShapes(text, { batch: 2, dim: 12, shapes: {}, maxBatchSize: 16 })[0]!.shape).toEqual([2, 12]);
  });

  it('a --shape must fit the metadata and name a real input', () => {
    expect(() => concreteShapes(addSub, { batch: 1, shapes: { INPUT0: [1, 15] } })).toThrow(/does not fit/);
    expect(() => concreteShapes(addSub, { batch: 1, shapes: { nope: [1] } })).toThrow(/no input 'nope'/);
    expect(parseShapeFlag('INPUT0=1,16')).toEqual(['INPUT0', [1, 16]]);
    expect(() => parseShapeFlag('INPUT0=1,x')).toThrow(/NAME=D1,D2/);
  });
});

describe('random tensors', () => {
  it('respect datatype, shape and the integer range, and repeat for a seed', () => {
    const ids = randomTensor({ name: 'ids', datatype: 'INT64', shape: [2, 50] }, rng(1), [0, 1000]);
    expect(ids.data).toBeInstanceOf(BigInt64Array);
    expect((ids.data as BigInt64Array).length).toBe(100);
    expect([...(ids.data as BigInt64Array)].every((v) => v >= 0n && v < 1000n)).toBe(true);
    const u8 = randomTensor({ name: 'x', datatype: 'UINT8', shape: [500] }, rng(1), [-50, 9999]);
    expect([...(u8.data as Uint8Array)].every((v) => v <= 255)).toBe(true);
    const f = randomTensor({ name: 'x', datatype: 'FP32', shape: [100] }, rng(2));
    expect([...(f.data as Float32Array)].every((v) => v >= -1 && v < 1)).toBe(true);
    expect(randomTensor({ name: 'x', datatype: 'FP32', shape: [8] }, rng(2)).data).toEqual(randomTensor({ name: 'x', datatype: 'FP32', shape: [8] }, rng(2)).data);
    const b = randomTensor({ name: 's', datatype: 'BYTES', shape: [3] }, rng(3));
    expect((b.data as Uint8Array[]).map((x) => x.length)).toEqual([8, 8, 8]);
  });
});

describe('encodings', () => {
  const tensors = [
    { name: 'a', datatype: 'FP32' as const, shape: [1, 2], data: Float32Array.from([1.5, -2]) },
    { name: 'b', datatype: 'BYTES' as const, shape: [2], data: [new TextEncoder().encode('hi'), new TextEncoder().encode('')] },
    { name: 'c', datatype: 'BOOL' as const, shape: [2], data: Uint8Array.from([1, 0]) },
  ];

  it('JSON carries flat data in KServe form', () => {
    const body = JSON.parse(encodeJson(tensors).body.toString());
    expect(body.inputs).toEqual([
      { name: 'a', datatype: 'FP32', shape: [1, 2], data: [1.5, -2] },
      { name: 'b', datatype: 'BYTES', shape: [2], data: ['hi', ''] },
      { name: 'c', datatype: 'BOOL', shape: [2], data: [true, false] },
    ]);
  });

  it('binary: a JSON header, then each tensor’s bytes (BYTES with 4-byte length prefixes)', () => {
    const { headers, body } = encodeBinary(tensors);
    const n = Number(headers['inference-header-content-length']);
    const header = JSON.parse(body.subarray(0, n).toString());
    expect(header.inputs.map((i: { parameters: { binary_data_size: number } }) => i.parameters.binary_data_size)).toEqual([8, 10, 2]);
    expect(header.parameters).toEqual({ binary_data_output: true });
    expect(body.length).toBe(n + 20);
    expect(body.readFloatLE(n)).toBe(1.5);
    expect(body.readUInt32LE(n + 8)).toBe(2);
    expect(body.subarray(n + 12, n + 14).toString()).toBe('hi');
  });

  it('--input-data takes one request, a list, or requests keyed by model', () => {
    const req = { inputs: [{ name: 'x', datatype: 'INT32', shape: [2, 2], data: [[1, 2], [3, 4]] }] };
    const one = parseInputData(JSON.stringify(req)).get('*')!;
    expect(Array.from(one[0]![0]!.data as Int32Array)).toEqual([1, 2, 3, 4]);
    expect(parseInputData(JSON.stringify([req, req])).get('*')!.length).toBe(2);
    expect([...parseInputData(JSON.stringify({ m1: req, m2: [req] })).keys()]).toEqual(['m1', 'm2']);
    expect(() => parseInputData(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [3], data: [1] }] }))).toThrow(/1 values for shape \[3\]/);
  });
});

describe('flags', () => {
  const flags = (over: Partial<RawBenchFlags>): RawBenchFlags => ({
    url: 'http://x', model: ['m'], duration: 1, warmup: 0, timeoutMs: 1000, batch: 1, shape: [], intRange: '0,100', seed: 1, ...over,
  });

  it('--rate with --sweep lists rates; --cv implies gamma arrivals; Zipf popularity', async () => {
    const o = await benchOptions(flags({ rate: true, sweep: [50, 100], cv: 3, zipf: 1.1 }));
    expect(o).toMatchObject({ mode: 'rate', levels: [50, 100], arrival: 'gamma', cv: 3, popularity: { kind: 'zipf', s: 1.1 } });
  });

  it('closed loop with one client is the default', async () => {
    expect(await benchOptions(flags({}))).toMatchObject({ mode: 'concurrency', levels: [1] });
  });

  it('refuses contradictions with a reason', async () => {
    await expect(benchOptions(flags({ rate: 10, concurrency: 2 }))).rejects.toThrow(/choose one of/);
    await expect(benchOptions(flags({ rate: true }))).rejects.toThrow(/--rate needs a value/);
    await expect(benchOptions(flags({ rate: 10, cv: 2, arrival: 'constant' }))).rejects.toThrow(/--cv/);
    await expect(benchOptions(flags({ model: [] }))).rejects.toThrow(/--model/);
    await expect(benchOptions(flags({ intRange: '5,5' }))).rejects.toThrow(/--int-range/);
  });
});
