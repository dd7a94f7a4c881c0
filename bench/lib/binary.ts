/**
 * Reading KServe v2 infer replies in either layout, to check what a server answered: JSON, or
 * the binary tensor extension (a JSON header whose outputs carry `parameters.binary_data_size`,
 * its length in `Inference-Header-Content-Length`, then the raw little-endian bytes in order).
 * Requests are built by `shoal bench`'s encoder (src/bench/payload.ts).
 */
export const HEADER_LENGTH = 'inference-header-content-length';

export interface ReplyTensor {
  name: string;
  datatype: string;
  shape: number[];
  /** Present when the output came as JSON. */
  data?: unknown[];
  /** Present when the output came as binary; a view into the reply body. */
  bytes?: Buffer;
}

export interface InferReply {
  model_name?: string;
  model_version?: string;
  outputs: ReplyTensor[];
}

interface WireOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

/** Parses an infer reply in either layout; `headerLength` is the reply's Inference-Header-Content-Length, if any. */
export function parseInferReply(body: Buffer, headerLength?: string | string[]): InferReply {
  const raw = Array.isArray(headerLength) ? headerLength[0] : headerLength;
  const jsonLength = raw === undefined ? body.length : Number(raw);
  if (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > body.length) {
    throw new Error(`bad ${HEADER_LENGTH}: ${raw} for a ${body.length}-byte body`);
  }
  const header = JSON.parse(body.subarray(0, jsonLength).toString('utf8')) as {
    model_name?: string;
    model_version?: string;
    outputs?: WireOutput[];
  };
  let offset = jsonLength;
  const outputs = (header.outputs ?? []).map((o): ReplyTensor => {
    const size = o.parameters?.binary_data_size;
    const tensor: ReplyTensor = { name: o.name, datatype: o.datatype, shape: o.shape };
    if (size === undefined) {
      tensor.data = o.data;
    } else {
      if (offset + size > body.length) throw new Error(`output ${o.name}: ${size} bytes past the end of the body`);
      tensor.bytes = body.subarray(offset, offset + size);
      offset += size;
    }
    return tensor;
  });
  if (offset !== body.length) throw new Error(`${body.length - offset} trailing bytes after the binary outputs`);
  return { model_name: header.model_name, model_version: header.model_version, outputs };
}

/** The values of an FP32 output, from whichever layout it came in. */
export function fp32Values(t: ReplyTensor): Float32Array {
  if (t.bytes) {
    // Copy: the view may sit at an offset that is not 4-byte aligned.
    const copy = new Uint8Array(t.bytes);
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  if (t.data) return Float32Array.from(t.data as number[]);
  throw new Error(`output ${t.name} has neither data nor binary bytes`);
}
