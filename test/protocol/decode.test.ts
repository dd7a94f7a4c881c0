import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/core/errors.js';
import type { InferRequest } from '../../src/core/request.js';
import { decodeInferRequest, type Limits } from '../../src/protocol/kserve/decode.js';
import { SAMPLES } from './fixtures.js';
import { binaryBody, bytesChunk, jsonWithBigInts, le } from './helpers.js';

const LIMITS: Limits = { maxElementsPerTensor: 1000, maxElementsPerRequest: 1500 };
const CTX = { model: 'm', arrivalTime: 42, traceId: 't1' };

function decodeJson(request: unknown, limits = LIMITS): InferRequest {
  const text = typeof request === 'string' ? request : jsonWithBigInts(request);
  return decodeInferRequest(Buffer.from(text), undefined, limits, CTX);
}

/** The error a decode throws, checked to be a ShoalError. */
function failure(run: () => unknown): ShoalError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ShoalError);
    return e as ShoalError;
  }
  throw new Error('expected the decode to fail');
}

function expectInvalid(run: () => unknown, ...fragments: Array<string | RegExp>): void {
  const e = failure(run);
  expect(e.kind).toBe('invalid_argument');
  for (const f of fragments) expect(e.message).toMatch(f);
}

const heldValues = (data: unknown): unknown[] =>
  Array.isArray(data) ? data.map((b: Uint8Array) => Buffer.from(b).toString('utf8')) : Array.from(data as ArrayLike<unknown>);

const input = (over: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ name: 'x', datatype: 'FP32', shape: [2], data: [1, 2], ...over });

describe('decodeInferRequest: JSON data', () => {
  for (const s of SAMPLES) {
    it(`decodes ${s.datatype}`, () => {
      const req = decodeJson({ inputs: [{ name: 'in', datatype: s.datatype, shape: [s.json.length], data: s.json }] });
      const t = req.inputs[0]!;
      expect(t).toMatchObject({ name: 'in', datatype: s.datatype, shape: [s.json.length] });
      expect(heldValues(t.data)).toEqual(s.held);
    });
  }

  it('keeps the request envelope: id, parameters, outputs, context', () => {
    const req = decodeJson({
      id: 'abc', model_name: 'ignored', extra: { anything: 1 },
      parameters: { binary_data_output: true, priority: 2, tag: 'x' },
      inputs: [input()],
      outputs: [{ name: 'y', parameters: { binary_data: false } }, { name: 'z' }],
    });
    expect(req).toMatchObject({
      id: 'abc', model: 'm', arrivalTime: 42, traceId: 't1',
      parameters: { binary_data_output: true, priority: 2, tag: 'x' },
      outputs: [{ name: 'y', parameters: { binary_data: false } }, { name: 'z' }],
    });
    expect(req.version).toBeUndefined();
    const versioned = decodeInferRequest(Buffer.from(JSON.stringify({ inputs: [input()] })), undefined, LIMITS, { ...CTX, version: '3' });
    expect(versioned.version).toBe('3');
    expect(versioned.parameters).toEqual({});
    expect(versioned.outputs).toBeUndefined();
  });

  it('accepts nested data that mirrors the shape', () => {
    const req = decodeJson({ inputs: [input({ datatype: 'INT32', shape: [2, 3], data: [[1, 2, 3], [4, 5, 6]] })] });
    expect(Array.from(req.inputs[0]!.data as Int32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const deep = decodeJson({ inputs: [input({ datatype: 'BYTES', shape: [2, 1, 2], data: [[['a', 'b']], [['c', 'd']]] })] });
    expect(heldValues(deep.inputs[0]!.data)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('accepts empty tensors and scalars', () => {
    expect(decodeJson({ inputs: [input({ shape: [0], data: [] })] }).inputs[0]!.data).toHaveLength(0);
    expect(decodeJson({ inputs: [input({ shape: [3, 0], data: [] })] }).inputs[0]!.data).toHaveLength(0);
    expect(Array.from(decodeJson({ inputs: [input({ shape: [], data: [7] })] }).inputs[0]!.data as Float32Array)).toEqual([7]);
  });

  it('reads INT64/UINT64 literals beyond 2^53 exactly, nested too', () => {
    const text = '{"inputs":[{"name":"a","datatype":"INT64","shape":[2,2],'
      + '"data":[[-9223372036854775808,9007199254740993],[1,9223372036854775807]]},'
      + '{"name":"b","datatype":"UINT64","shape":[1],"data":[18446744073709551615]}]}';
    const req = decodeJson(text);
    expect(Array.from(req.inputs[0]!.data as BigInt64Array)).toEqual([-9223372036854775808n, 9007199254740993n, 1n, 9223372036854775807n]);
    expect(Array.from(req.inputs[1]!.data as BigUint64Array)).toEqual([18446744073709551615n]);
  });

  it('rejects 64-bit values out of range, even when written exactly', () => {
    expectInvalid(() => decodeJson('{"inputs":[{"name":"a","datatype":"INT64","shape":[1],"data":[9223372036854775808]}]}'),
      "input 'a'", 'element 0', '9223372036854775808', '-9223372036854775808 to 9223372036854775807');
    expectInvalid(() => decodeJson('{"inputs":[{"name":"u","datatype":"UINT64","shape":[1],"data":[18446744073709551616]}]}'),
      "input 'u'", '18446744073709551616');
    expectInvalid(() => decodeJson({ inputs: [input({ name: 'u', datatype: 'UINT64', shape: [1], data: [-1] })] }), "input 'u'", 'element 0 of UINT64');
  });

  it('refuses 64-bit values beyond 2^53 written in forms that may have been rounded', () => {
    for (const literal of ['1e19', '9007199254740993.0']) {
      expectInvalid(() => decodeJson(`{"inputs":[{"name":"a","datatype":"UINT64","shape":[2],"data":[1,${literal}]}]}`),
        "input 'a'", 'element 1', 'plain integer literal');
    }
    // Within 2^53 a fraction or exponent form names its integer exactly.
    const ok = decodeJson('{"inputs":[{"name":"a","datatype":"INT64","shape":[2],"data":[1e15,-4.0]}]}');
    expect(Array.from(ok.inputs[0]!.data as BigInt64Array)).toEqual([1000000000000000n, -4n]);
  });
});

describe('decodeInferRequest: binary data', () => {
  for (const s of SAMPLES) {
    it(`decodes ${s.datatype}`, () => {
      const { body, headerLength } = binaryBody(
        { inputs: [{ name: 'in', datatype: s.datatype, shape: [s.held.length], parameters: { binary_data_size: s.binary.length } }] },
        [s.binary]);
      const t = decodeInferRequest(body, headerLength, LIMITS, CTX).inputs[0]!;
      expect(t).toMatchObject({ name: 'in', datatype: s.datatype, shape: [s.held.length] });
      expect(heldValues(t.data)).toEqual(s.held);
    });
  }

  it('mixes binary and JSON inputs, taking binary chunks in input order', () => {
    const a = le(new Float32Array([1, 2]));
    const c = le(new Int16Array([-5, 5, 9]));
    const { body, headerLength } = binaryBody({
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
        { name: 'b', datatype: 'INT8', shape: [1], data: [3] },
        { name: 'c', datatype: 'INT16', shape: [3], parameters: { binary_data_size: 6 } },
      ],
    }, [a, c]);
    const req = decodeInferRequest(body, headerLength, LIMITS, CTX);
    expect(req.inputs.map((t) => Array.from(t.data as Float32Array))).toEqual([[1, 2], [3], [-5, 5, 9]]);
  });

  it('views the body instead of copying when the data is aligned', () => {
    // Pad the header with spaces so the data starts on an 8-byte boundary of the body.
    let head = JSON.stringify({ inputs: [{ name: 'a', datatype: 'FP64', shape: [2], parameters: { binary_data_size: 16 } }] });
    head += ' '.repeat((8 - (head.length % 8)) % 8);
    const body = Buffer.alloc(head.length + 16);
    body.write(head);
    new Float64Array(body.buffer, body.byteOffset + head.length, 2).set([1.5, -2]);
    expect(body.byteOffset % 8).toBe(0);
    const data = decodeInferRequest(body, head.length, LIMITS, CTX).inputs[0]!.data as Float64Array;
    expect(Array.from(data)).toEqual([1.5, -2]);
    expect(data.buffer).toBe(body.buffer);
  });

  it('keeps BYTES elements as views into the body', () => {
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 13 } }] }, [bytesChunk(['ab', 'cde'])]);
    const data = decodeInferRequest(body, headerLength, LIMITS, CTX).inputs[0]!.data as Uint8Array[];
    expect(data[1]!.buffer).toBe(body.buffer);
  });

  const bin = (inputs: unknown[], chunks: Buffer[]): (() => InferRequest) => {
    const { body, headerLength } = binaryBody({ inputs }, chunks);
    return () => decodeInferRequest(body, headerLength, LIMITS, CTX);
  };
  const binInput = (name: string, datatype: string, shape: number[], size: unknown): Record<string, unknown> =>
    ({ name, datatype, shape, parameters: { binary_data_size: size } });

  it('rejects a size that overruns the body, naming the input', () => {
    expectInvalid(bin([binInput('a', 'FP32', [2], 8), binInput('b', 'FP32', [2], 8)], [Buffer.alloc(12)]),
      "input 'b'", 'binary_data_size 8', '4 bytes');
  });
  it('rejects bytes left over after the last binary input', () => {
    expectInvalid(bin([binInput('a', 'FP32', [2], 8)], [Buffer.alloc(11)]), '3 bytes', 'left over');
    // Also when nothing claims binary data at all.
    const head = '{"inputs":[{"name":"a","datatype":"INT8","shape":[1],"data":[1]}]}';
    expectInvalid(() => decodeInferRequest(Buffer.from(`${head}xyz`), head.length, LIMITS, CTX), '3 bytes', 'left over');
  });
  it('rejects a numeric size that does not match the shape', () => {
    expectInvalid(bin([binInput('a', 'FP32', [3], 8)], [Buffer.alloc(8)]), "input 'a'", 'binary_data_size is 8', '12 bytes');
  });
  it('rejects a bad binary_data_size value', () => {
    expectInvalid(bin([binInput('a', 'FP32', [2], -8)], []), "input 'a'", 'non-negative integer');
    expectInvalid(bin([binInput('a', 'FP32', [2], '8')], []), "input 'a'", 'non-negative integer');
  });
  it('rejects BOOL bytes other than 0 and 1', () => {
    expectInvalid(bin([binInput('f', 'BOOL', [2], 2)], [Buffer.from([1, 2])]), "input 'f'", 'element 1', 'byte 2');
  });
  it('rejects BYTES data that does not hold exactly the element count', () => {
    const two = bytesChunk(['ab', 'c']);
    expectInvalid(bin([binInput('s', 'BYTES', [3], two.length)], [two]), "input 's'", 'holds 2', 'needs 3');
    expectInvalid(bin([binInput('s', 'BYTES', [1], two.length)], [two]), "input 's'", '5 bytes left over');
    const cut = Buffer.from([5, 0, 0, 0, 1, 2]);
    expectInvalid(bin([binInput('s', 'BYTES', [1], cut.length)], [cut]), "input 's'", 'claims 5 bytes', 'only 2');
    expectInvalid(bin([binInput('s', 'BYTES', [2], 6)], [Buffer.from([0, 0, 0, 0, 9, 9])]), "input 's'", 'element 1', 'length prefix');
  });
  it('rejects binary_data_size without the header-length header, and data given both ways', () => {
    expectInvalid(() => decodeJson({ inputs: [binInput('a', 'FP32', [2], 8)] }), "input 'a'", 'Inference-Header-Content-Length');
    expectInvalid(bin([{ ...binInput('a', 'FP32', [2], 8), data: [1, 2] }], [Buffer.alloc(8)]), "input 'a'", 'both');
  });
  it('rejects a header length that is negative, fractional or past the body', () => {
    const body = Buffer.from('{"inputs":[]}');
    expectInvalid(() => decodeInferRequest(body, -1, LIMITS, CTX), 'Inference-Header-Content-Length', 'non-negative integer');
    expectInvalid(() => decodeInferRequest(body, 2.5, LIMITS, CTX), 'Inference-Header-Content-Length');
    expectInvalid(() => decodeInferRequest(body, NaN, LIMITS, CTX), 'Inference-Header-Content-Length', 'got NaN');
    expectInvalid(() => decodeInferRequest(body, 99, LIMITS, CTX), 'is 99', 'only 13 bytes');
  });
});

describe('decodeInferRequest: malformed requests', () => {
  it('says where malformed JSON goes wrong', () => {
    expectInvalid(() => decodeJson('{"inputs": [\n  {"name": "a",}\n]}'), 'malformed JSON', 'line 2, column 16');
    expectInvalid(() => decodeJson('{"inputs": ['), 'malformed JSON', 'line 1, column 13');
    expectInvalid(() => decodeJson(''), 'empty');
  });

  it('needs an object with a non-empty inputs array', () => {
    expectInvalid(() => decodeJson('[1]'), 'JSON object', 'an array');
    expectInvalid(() => decodeJson('null'), 'JSON object');
    expectInvalid(() => decodeJson({}), "'inputs'", 'missing');
    expectInvalid(() => decodeJson({ inputs: [] }), "'inputs'", 'non-empty');
    expectInvalid(() => decodeJson({ inputs: {} }), "'inputs'");
    expectInvalid(() => decodeJson({ inputs: [3] }), 'inputs[0] must be an object');
  });

  it('checks the request id, parameters and outputs', () => {
    expectInvalid(() => decodeJson({ id: 5, inputs: [input()] }), 'request id', 'string');
    expectInvalid(() => decodeJson({ parameters: [], inputs: [input()] }), 'request parameters', 'object');
    expectInvalid(() => decodeJson({ parameters: { a: null }, inputs: [input()] }), "'a'", 'string, number or boolean');
    expectInvalid(() => decodeJson({ parameters: { a: { b: 1 } }, inputs: [input()] }), "'a'");
    expectInvalid(() => decodeJson({ inputs: [input({ parameters: { p: [1] } })] }), "input 'x' parameters", "'p'");
    expectInvalid(() => decodeJson({ inputs: [input()], outputs: {} }), "'outputs'", 'array');
    expectInvalid(() => decodeJson({ inputs: [input()], outputs: [{}] }), 'outputs[0].name');
    expectInvalid(() => decodeJson({ inputs: [input()], outputs: [{ name: 'y' }, { name: 'y' }] }), "output 'y'", 'more than once');
    expectInvalid(() => decodeJson({ inputs: [input()], outputs: [{ name: 'y', parameters: { binary_data: null } }] }), "output 'y' parameters");
  });

  it('checks input names, datatypes and shapes', () => {
    expectInvalid(() => decodeJson({ inputs: [input({ name: 3 })] }), 'inputs[0].name', 'non-empty string');
    expectInvalid(() => decodeJson({ inputs: [input({ name: '' })] }), 'inputs[0].name');
    expectInvalid(() => decodeJson({ inputs: [input(), input()] }), "input 'x'", 'more than once');
    expectInvalid(() => decodeJson({ inputs: [input({ datatype: 'FLOAT32' })] }), "input 'x'", 'FLOAT32', 'BOOL, UINT8', 'BYTES');
    expectInvalid(() => decodeJson({ inputs: [input({ datatype: 'fp32' })] }), "input 'x'", 'unknown datatype');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: 2 })] }), "input 'x'", 'shape must be an array');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: [2, -1] })] }), "input 'x'", 'shape[1]', '-1');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: [1.5] })] }), "input 'x'", 'shape[0]');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: ['2'] })] }), "input 'x'", 'shape[0]');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: new Array(65).fill(1), data: [1] })] }), "input 'x'", '65 dimensions');
  });

  it('refuses tensors and requests over the element limits as too_large', () => {
    const big = failure(() => decodeJson({ inputs: [input({ shape: [100, 11], data: [] })] }));
    expect(big.kind).toBe('too_large');
    expect(big.message).toMatch(/input 'x'.*\[100,11\].*1000/);
    // A product far past 2^64 must not wrap or lose precision into something small.
    const huge = failure(() => decodeJson({ inputs: [input({ shape: [2 ** 40, 2 ** 40, 2 ** 40, 1], data: [] })] }));
    expect(huge.kind).toBe('too_large');
    const unlimited = { maxElementsPerTensor: Infinity, maxElementsPerRequest: Infinity };
    expect(failure(() => decodeJson({ inputs: [input({ shape: [2 ** 30, 2 ** 30, 2 ** 30], data: [] })] }, unlimited)).kind).toBe('too_large');
    const zero = decodeJson({ inputs: [input({ shape: [2 ** 52, 0], data: [] })] });
    expect(zero.inputs[0]!.data).toHaveLength(0);
    const total = failure(() => decodeJson({
      inputs: [input({ name: 'a', shape: [1000], data: new Array(1000).fill(0) }), input({ name: 'b', shape: [501], data: [] })],
    }));
    expect(total.kind).toBe('too_large');
    expect(total.message).toMatch(/input 'b'.*1501.*1500/);
  });

  it('checks data: presence, form, count and raggedness', () => {
    expectInvalid(() => decodeJson({ inputs: [input({ data: undefined })] }), "input 'x'", 'no data');
    expectInvalid(() => decodeJson({ inputs: [input({ data: 5 })] }), "input 'x'", 'data must be an array');
    expectInvalid(() => decodeJson({ inputs: [input({ data: [1, 2, 3] })] }), "input 'x'", 'has 3 elements', 'needs 2');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: [2, 2], data: [[1, 2], [3]] })] }), "input 'x'", 'ragged', 'data[1] has 1');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: [2, 2], data: [[1, 2], 3] })] }), "input 'x'", 'ragged', 'data[1]');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: [2, 2], data: [[1, 2], [3, [4]]] })] }), "input 'x'", 'ragged', 'data[1][1]');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: [2], data: [1, [2]] })] }), "input 'x'", 'element 1', 'an array');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: [3, 2], data: [[1, 2, 3], [4, 5, 6]] })] }), "input 'x'", 'dims [2,3]', 'shape is [3,2]');
    expectInvalid(() => decodeJson({ inputs: [input({ shape: [2, 2, 2], data: [[1, 2, 3, 4], [5, 6, 7, 8]] })] }), "input 'x'", 'dims [2,4]');
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['BOOL', 1, /true or false/],
    ['BOOL', 'true', /true or false/],
    ['UINT8', 256, /from 0 to 255/],
    ['UINT8', -1, /from 0 to 255/],
    ['UINT16', 65536, /from 0 to 65535/],
    ['UINT32', 4294967296, /from 0 to 4294967295/],
    ['INT8', 128, /from -128 to 127/],
    ['INT16', -32769, /from -32768 to 32767/],
    ['INT32', 2147483648, /from -2147483648 to 2147483647/],
    ['INT32', 1.5, /integer/],
    ['INT64', 1.5, /integer/],
    ['INT64', '12', /integer/],
    ['UINT64', true, /integer/],
    ['FP16', 'x', /a number/],
    ['FP32', null, /a number/],
    ['FP64', false, /a number/],
    ['BYTES', 5, /a string/],
    ['BYTES', null, /a string/],
  ];
  for (const [datatype, value, expected] of bad) {
    it(`rejects ${JSON.stringify(value)} as ${datatype}, naming input and element`, () => {
      expectInvalid(() => decodeJson({ inputs: [input({ name: 'v', datatype, shape: [2], data: [datatypeOk(datatype), value] })] }),
        "input 'v'", `element 1 of ${datatype}`, expected);
    });
  }
});

function datatypeOk(datatype: string): unknown {
  return datatype === 'BOOL' ? true : datatype === 'BYTES' ? 's' : 1;
}
