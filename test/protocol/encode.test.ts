import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/core/errors.js';
import type { InferRequest, InferResponse, Parameters, RequestedOutput } from '../../src/core/request.js';
import type { Tensor } from '../../src/core/tensor.js';
import { decodeInferRequest } from '../../src/protocol/kserve/decode.js';
import { encodeInferResponse } from '../../src/protocol/kserve/encode.js';
import { SAMPLES } from './fixtures.js';
import { binaryBody, jsonWithBigInts, parseInferResponse, splitBytes } from './helpers.js';

const LIMITS = { maxElementsPerTensor: 1000, maxElementsPerRequest: 1000 };
const CTX = { model: 'm', arrivalTime: 0, traceId: 't' };

function request(over: { parameters?: Parameters; outputs?: RequestedOutput[]; id?: string } = {}): InferRequest {
  return { model: 'm', inputs: [], parameters: {}, arrivalTime: 0, traceId: 't', ...over };
}

function response(outputs: Tensor[], over: Partial<InferResponse> = {}): InferResponse {
  return { model: 'm', version: '1', outputs, ...over };
}

const f32 = (name: string, values: number[]): Tensor => ({ name, datatype: 'FP32', shape: [values.length], data: new Float32Array(values) });

describe('encodeInferResponse: JSON', () => {
  it('writes the envelope and a flat data array', () => {
    const enc = encodeInferResponse(response([f32('y', [1, 2.5])], { id: 'r1', parameters: { sequence: 'a' } }), request());
    expect(enc.contentType).toBe('application/json');
    expect(enc.headerLength).toBeUndefined();
    expect(JSON.parse(enc.body as string)).toEqual({
      model_name: 'm', model_version: '1', id: 'r1', parameters: { sequence: 'a' },
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2], data: [1, 2.5] }],
    });
  });

  it("echoes the request's id when the response has none, and leaves out empty parameters", () => {
    const json = JSON.parse(encodeInferResponse(response([], { parameters: {} }), request({ id: 'q' })).body as string);
    expect(json).toEqual({ model_name: 'm', model_version: '1', id: 'q', outputs: [] });
    expect(JSON.parse(encodeInferResponse(response([]), request()).body as string)).not.toHaveProperty('id');
  });

  it('writes nested shapes as flat data, and escapes names', () => {
    const t: Tensor = { name: 'we"ird\n', datatype: 'INT32', shape: [2, 2], data: new Int32Array([1, -2, 3, 4]) };
    const json = JSON.parse(encodeInferResponse(response([t]), request()).body as string);
    expect(json.outputs[0]).toEqual({ name: 'we"ird\n', datatype: 'INT32', shape: [2, 2], data: [1, -2, 3, 4] });
  });

  it('writes 64-bit integers digit for digit', () => {
    const t: Tensor = { name: 'i', datatype: 'INT64', shape: [3], data: new BigInt64Array([-9223372036854775808n, 9007199254740993n, 9223372036854775807n]) };
    const u: Tensor = { name: 'u', datatype: 'UINT64', shape: [1], data: new BigUint64Array([18446744073709551615n]) };
    const body = encodeInferResponse(response([t, u]), request()).body as string;
    expect(body).toContain('"data":[-9223372036854775808,9007199254740993,9223372036854775807]');
    expect(body).toContain('"data":[18446744073709551615]');
  });

  it('writes float32 values exactly and non-finite values as null', () => {
    const values = [0.1, 1e-45, -3.4028234663852886e38, NaN, Infinity, -Infinity];
    const json = JSON.parse(encodeInferResponse(response([f32('y', values)]), request()).body as string);
    expect(json.outputs[0].data).toEqual([Math.fround(0.1), Math.fround(1e-45), -3.4028234663852886e38, null, null, null]);
    const half: Tensor = { name: 'h', datatype: 'FP16', shape: [3], data: new Uint16Array([0x3c00, 0x7c00, 0x7e00]) };
    expect(JSON.parse(encodeInferResponse(response([half]), request()).body as string).outputs[0].data).toEqual([1, null, null]);
  });

  it('keeps the sign of negative zero, beside null for non-finite values', () => {
    const body = encodeInferResponse(response([f32('y', [-0, 1.5, NaN, 0])]), request()).body as string;
    expect(body).toContain('"data":[-0,1.5,null,0]');
    const half: Tensor = { name: 'h', datatype: 'FP16', shape: [2], data: new Uint16Array([0x8000, 0x3c00]) };
    expect(encodeInferResponse(response([half]), request()).body as string).toContain('"data":[-0,1]');
  });

  it('leaves the text of its floats out of the old generation', () => {
    // V8 caches the text of floats formatted by join or String() in its old generation; at a few
    // hundred answers a second that garbage brought a full collection, and a burst of late answers,
    // every few seconds. Measured as old-space growth between encodes of fresh 1024-float outputs
    // (join left about 39 KB each); a collection between two reads only lowers the sum.
    const oldSpace = (): number => v8.getHeapSpaceStatistics().find((x) => x.space_name === 'old_space')!.space_used_size;
    const fresh = (): Tensor => f32('y', Array.from({ length: 1024 }, () => Math.random() * 2 - 1));
    for (let i = 0; i < 50; i++) encodeInferResponse(response([fresh()]), request());
    const n = 300;
    let grown = 0;
    let last = oldSpace();
    for (let i = 0; i < n; i++) {
      encodeInferResponse(response([fresh()]), request());
      const now = oldSpace();
      grown += Math.max(0, now - last);
      last = now;
    }
    expect(grown / n).toBeLessThan(4096);
  });

  it('refuses to write non-UTF-8 BYTES as JSON, pointing at binary output', () => {
    const t: Tensor = { name: 'b', datatype: 'BYTES', shape: [2], data: [new Uint8Array([104]), new Uint8Array([0xff, 0xfe])] };
    expect(() => encodeInferResponse(response([t]), request())).toThrow(/output 'b' element 1.*UTF-8.*binary_data/);
    const enc = encodeInferResponse(response([t]), request({ parameters: { binary_data_output: true } }));
    const [out] = parseInferResponse(enc.body as Buffer, enc.headerLength).outputs;
    expect(splitBytes(out!.bytes!)).toEqual([Buffer.from([104]), Buffer.from([0xff, 0xfe])]);
  });

  it('treats data that does not match its datatype or shape as an internal fault', () => {
    const wrongCount: Tensor = { name: 'y', datatype: 'FP32', shape: [3], data: new Float32Array(2) };
    const wrongType: Tensor = { name: 'y', datatype: 'FP32', shape: [2], data: new Float64Array(2) };
    const bytesAsNumbers: Tensor = { name: 'y', datatype: 'BYTES', shape: [2], data: new Uint8Array(2) };
    for (const t of [wrongCount, wrongType, bytesAsNumbers]) {
      let err: unknown;
      try {
        encodeInferResponse(response([t]), request());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ShoalError);
      expect((err as ShoalError).kind).toBe('internal');
      expect((err as ShoalError).message).toContain("output 'y'");
    }
  });
});

describe('encodeInferResponse: choosing binary outputs', () => {
  const outputs = [f32('a', [1]), f32('b', [2]), f32('c', [3])];
  const binaryNames = (req: InferRequest): string[] => {
    const enc = encodeInferResponse(response(outputs), req);
    if (typeof enc.body === 'string') return [];
    return parseInferResponse(enc.body, enc.headerLength).outputs.filter((o) => o.bytes).map((o) => o.name);
  };

  it('uses JSON unless asked', () => {
    expect(binaryNames(request())).toEqual([]);
    expect(binaryNames(request({ outputs: [{ name: 'a' }] }))).toEqual([]);
  });
  it('sends an output as binary when its own binary_data says so', () => {
    expect(binaryNames(request({ outputs: [{ name: 'b', parameters: { binary_data: true } }] }))).toEqual(['b']);
  });
  it('sends all outputs as binary with binary_data_output, unless an output says binary_data: false', () => {
    expect(binaryNames(request({ parameters: { binary_data_output: true } }))).toEqual(['a', 'b', 'c']);
    expect(binaryNames(request({
      parameters: { binary_data_output: true }, outputs: [{ name: 'a', parameters: { binary_data: false } }, { name: 'c' }],
    }))).toEqual(['b', 'c']);
  });

  it('lays binary data out after the header in output order, with binary_data_size and a header length', () => {
    const enc = encodeInferResponse(response(outputs, { id: 'x' }), request({ parameters: { binary_data_output: true }, outputs: [{ name: 'b', parameters: { binary_data: false } }] }));
    expect(enc.contentType).toBe('application/octet-stream');
    const body = enc.body as Buffer;
    expect(body.length).toBe(enc.headerLength! + 8);
    const header = JSON.parse(body.subarray(0, enc.headerLength).toString());
    expect(header.outputs).toEqual([
      { name: 'a', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } },
      { name: 'b', datatype: 'FP32', shape: [1], data: [2] },
      { name: 'c', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } },
    ]);
    expect(body.readFloatLE(enc.headerLength!)).toBe(1);
    expect(body.readFloatLE(enc.headerLength! + 4)).toBe(3);
  });

  it('counts the header length in bytes, not characters', () => {
    const enc = encodeInferResponse(response([f32('ÿ✓', [1])]), request({ parameters: { binary_data_output: true } }));
    const body = enc.body as Buffer;
    expect(enc.headerLength).toBe(body.length - 4);
    expect(JSON.parse(body.subarray(0, enc.headerLength).toString()).outputs[0].name).toBe('ÿ✓');
  });
});

describe('round trips through decode and encode', () => {
  /** Decodes a request carrying `sample` and encodes it back as the response, the way an echo model would. */
  const echo = (body: Buffer, headerLength: number | undefined): { enc: ReturnType<typeof encodeInferResponse> } => {
    const req = decodeInferRequest(body, headerLength, LIMITS, CTX);
    return { enc: encodeInferResponse(response(req.inputs), req) };
  };

  for (const s of SAMPLES) {
    it(`${s.datatype} in JSON both ways`, () => {
      const text = jsonWithBigInts({ inputs: [{ name: 'v', datatype: s.datatype, shape: [s.json.length], data: s.json }] });
      const { enc } = echo(Buffer.from(text), undefined);
      const body = enc.body as string;
      // The data array as text, so that 64-bit values are compared exactly.
      const expected = jsonWithBigInts(s.back ?? s.json);
      expect(body).toContain(`"data":${expected}`);
    });

    it(`${s.datatype} in binary both ways`, () => {
      const { body, headerLength } = binaryBody({
        parameters: { binary_data_output: true },
        inputs: [{ name: 'v', datatype: s.datatype, shape: [s.held.length], parameters: { binary_data_size: s.binary.length } }],
      }, [s.binary]);
      const { enc } = echo(body, headerLength);
      const [out] = parseInferResponse(enc.body as Buffer, enc.headerLength).outputs;
      expect(out).toMatchObject({ name: 'v', datatype: s.datatype, shape: [s.held.length], parameters: { binary_data_size: s.binary.length } });
      expect(out!.bytes).toEqual(s.binary);
    });
  }

  it('nested JSON in, flat JSON out', () => {
    const { enc } = echo(Buffer.from(JSON.stringify({
      inputs: [{ name: 'n', datatype: 'UINT8', shape: [2, 2, 1], data: [[[1], [2]], [[3], [4]]] }],
    })), undefined);
    expect(JSON.parse(enc.body as string).outputs[0]).toEqual({ name: 'n', datatype: 'UINT8', shape: [2, 2, 1], data: [1, 2, 3, 4] });
  });
});
