import { describe, expect, it } from 'vitest';
import { buildBinaryRequest, fp32Values, HEADER_LENGTH, parseInferReply } from '../../bench/lib/binary.js';

describe('buildBinaryRequest', () => {
  it('writes a JSON header with binary_data_size, then the raw little-endian bytes', () => {
    const data = Float32Array.from([1, -2.5, 3.25]);
    const { headers, body } = buildBinaryRequest([{ name: 'INPUT_FP32', datatype: 'FP32', shape: [3], data }], { binaryOutput: true });
    const jsonLength = Number(headers[HEADER_LENGTH]);
    expect(headers['content-type']).toBe('application/octet-stream');
    expect(JSON.parse(body.subarray(0, jsonLength).toString('utf8'))).toEqual({
      inputs: [{ name: 'INPUT_FP32', datatype: 'FP32', shape: [3], parameters: { binary_data_size: 12 } }],
      parameters: { binary_data_output: true },
    });
    expect(body.length).toBe(jsonLength + 12);
    expect(body.readFloatLE(jsonLength + 4)).toBe(-2.5);
  });

  it('lays several inputs out in order, honouring views into larger buffers', () => {
    const backing = new Int32Array([9, 9, 7, 8, 9]);
    const { headers, body } = buildBinaryRequest([
      { name: 'A', datatype: 'INT32', shape: [2], data: backing.subarray(2, 4) },
      { name: 'B', datatype: 'UINT8', shape: [1], data: Uint8Array.of(255) },
    ]);
    const at = Number(headers[HEADER_LENGTH]);
    expect(JSON.parse(body.subarray(0, at).toString()).parameters).toBeUndefined();
    expect([body.readInt32LE(at), body.readInt32LE(at + 4), body[at + 8]]).toEqual([7, 8, 255]);
    expect(body.length).toBe(at + 9);
  });
});

describe('parseInferReply', () => {
  it('splits binary outputs off the header in order, and leaves JSON outputs as data', () => {
    const json = JSON.stringify({
      model_name: 'm',
      outputs: [
        { name: 'X', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
        { name: 'Y', datatype: 'INT32', shape: [1], data: [4] },
        { name: 'Z', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } },
      ],
    });
    // Padding to an odd length puts the binary part off 4-byte alignment.
    const header = Buffer.from(json.length % 2 === 1 ? json : `${json} `);
    const raw = Buffer.alloc(12);
    raw.writeFloatLE(0.5, 0);
    raw.writeFloatLE(-1, 4);
    raw.writeFloatLE(2, 8);
    const reply = parseInferReply(Buffer.concat([header, raw]), String(header.length));
    const [x, y, z] = reply.outputs;
    expect(reply.model_name).toBe('m');
    expect(Array.from(fp32Values(x!))).toEqual([0.5, -1]);
    expect(y!.data).toEqual([4]);
    expect(Array.from(fp32Values(z!))).toEqual([2]);
  });

  it('reads a plain JSON reply when there is no header length', () => {
    const body = Buffer.from(JSON.stringify({ outputs: [{ name: 'O', datatype: 'FP32', shape: [2], data: [1, 2] }] }));
    expect(Array.from(fp32Values(parseInferReply(body).outputs[0]!))).toEqual([1, 2]);
  });

  it('rejects a body whose sizes do not add up', () => {
    const header = Buffer.from(JSON.stringify({ outputs: [{ name: 'X', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }] }));
    expect(() => parseInferReply(Buffer.concat([header, Buffer.alloc(4)]), String(header.length))).toThrow(/past the end/);
    expect(() => parseInferReply(Buffer.concat([header, Buffer.alloc(9)]), String(header.length))).toThrow(/trailing/);
    expect(() => parseInferReply(header, String(header.length + 1))).toThrow(/Inference-Header-Content-Length/i);
  });
});
