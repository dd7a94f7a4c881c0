import { describe, expect, it } from 'vitest';
import { fp32Values, parseInferReply } from '../../bench/lib/binary.js';

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
