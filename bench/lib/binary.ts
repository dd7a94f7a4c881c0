/**
 * KServe v2 binary tensor extension, client side: a JSON header whose inputs carry
 * `parameters.binary_data_size` instead of `data`, followed by the raw little-endian bytes
 * of those inputs in order; the header's length travels in `Inference-Header-Content-Length`.
 * The reply uses the same layout for outputs that carry `binary_data_size`.
 */
import type { DataType, NumericArray } from '../../src/core/datatype.js';
import type { Tensor } from '../../src/core/tensor.js';
import { encodeBinary } from '../../src/bench/payload.js';

export const HEADER_LENGTH = 'inference-header-content-length';

export interface BinaryInput {
  name: string;
  datatype: string;
  shape: number[];
  /** Any typed array; its bytes are sent as they sit in memory. */
  data: ArrayBufferView;
}

export interface BinaryRequest {
  headers: Record<string, string>;
  body: Buffer;
}

/** A binary-extension request for numeric inputs; the encoding itself is `shoal bench`'s. */
export function buildBinaryRequest(inputs: BinaryInput[], opts: { binaryOutput?: boolean } = {}): BinaryRequest {
  const tensors: Tensor[] = inputs.map((t) => ({ name: t.name, datatype: t.datatype as DataType, shape: t.shape, data: t.data as NumericArray }));
  return encodeBinary(tensors, { binaryOutput: opts.binaryOutput ?? false });
}

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
