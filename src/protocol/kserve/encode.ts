/**
 * Core InferResponse → KServe v2 inference response: JSON, or JSON followed by binary tensor
 * data for the outputs the client asked to get as binary.
 *
 * This is the hot path of every request, so the JSON is written as text directly rather than
 * built as objects for JSON.stringify: a tensor's `data` array is one `join` over its typed
 * array for integers, one JSON.stringify over a plain copy for floats (floatsJson says why).
 */
import { type DataType, type TensorData, byteSize, halfToNumber } from '../../core/datatype.js';
import { ShoalError, invalid } from '../../core/errors.js';
import type { InferRequest, InferResponse } from '../../core/request.js';
import { type Tensor, dataByteLength, elementCount, isBytes } from '../../core/tensor.js';

export interface EncodedResponse {
  /** A string when all outputs are JSON; otherwise the JSON header followed by the binary data. */
  body: Buffer | string;
  /** Byte length of the JSON header, for Inference-Header-Content-Length; set only with binary data. */
  headerLength?: number;
  contentType: string;
}

export function encodeInferResponse(resp: InferResponse, request: InferRequest): EncodedResponse {
  const wantsBinary = binaryChoice(request);
  const id = resp.id ?? request.id;

  let head = `{"model_name":${JSON.stringify(resp.model)},"model_version":${JSON.stringify(resp.version)}`;
  if (id !== undefined) head += `,"id":${JSON.stringify(id)}`;
  if (resp.parameters !== undefined && Object.keys(resp.parameters).length > 0) {
    head += `,"parameters":${JSON.stringify(resp.parameters)}`;
  }
  head += ',"outputs":[';

  const binary: TensorData[] = [];
  let binaryBytes = 0;
  for (let k = 0; k < resp.outputs.length; k++) {
    const t = resp.outputs[k]!;
    checkConsistent(t);
    if (k > 0) head += ',';
    head += `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}]`;
    if (wantsBinary(t.name)) {
      const size = dataByteLength(t.data);
      head += `,"parameters":{"binary_data_size":${size}}}`;
      binary.push(t.data);
      binaryBytes += size;
    } else {
      head += `,"data":${jsonData(t)}}`;
    }
  }
  head += ']}';

  if (binary.length === 0) return { body: head, contentType: 'application/json' };

  const headerLength = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headerLength + binaryBytes);
  out.write(head, 0, 'utf8');
  let off = headerLength;
  for (const data of binary) off = writeBinary(out, off, data);
  return { body: out, headerLength, contentType: 'application/octet-stream' };
}

/**
 * Per the binary extension: an output's own `binary_data` wins; otherwise the request-wide
 * `binary_data_output`; otherwise JSON.
 */
function binaryChoice(request: InferRequest): (output: string) => boolean {
  const all = request.parameters.binary_data_output === true;
  const requested = request.outputs;
  if (requested === undefined) return () => all;
  return (output) => {
    const own = requested.find((o) => o.name === output)?.parameters?.binary_data;
    return typeof own === 'boolean' ? own : all;
  };
}

/** A backend that hands back data not matching its own datatype or shape is a fault of ours. */
function checkConsistent(t: Tensor): void {
  const n = elementCount(t.shape);
  const length = t.data.length;
  const shapeOk = length === n;
  const typeOk = isBytes(t.data) ? t.datatype === 'BYTES' : t.datatype !== 'BYTES' && t.data.BYTES_PER_ELEMENT === byteSize(t.datatype);
  if (!shapeOk || !typeOk) {
    throw new ShoalError('internal', `output '${t.name}' is inconsistent: ${length} elements of `
      + `${isBytes(t.data) ? 'byte strings' : t.data.constructor.name} for ${t.datatype} shape [${t.shape.join(',')}]`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A tensor's JSON `data` array. */
function jsonData(t: Tensor): string {
  const data = t.data;
  if (isBytes(data)) {
    let s = '[';
    for (let i = 0; i < data.length; i++) {
      let text: string;
      try {
        text = utf8.decode(data[i]);
      } catch {
        throw invalid(`output '${t.name}' element ${i} is not valid UTF-8, so it cannot be written as JSON; `
          + `request the output as binary data ("binary_data": true)`);
      }
      s += (i > 0 ? ',' : '') + JSON.stringify(text);
    }
    return `${s}]`;
  }
  const dt: DataType = t.datatype;
  switch (dt) {
    case 'FP32':
    case 'FP64':
      return floatsJson(data as Float32Array | Float64Array);
    case 'FP16':
      return floatsJson(data as Uint16Array, halfToNumber);
    case 'BOOL': {
      let s = '[';
      for (let i = 0; i < data.length; i++) s += (i > 0 ? (data[i] ? ',true' : ',false') : (data[i] ? 'true' : 'false'));
      return `${s}]`;
    }
    default:
      // Integers, the 64-bit ones included: joining a BigInt64Array writes its exact digits.
      return `[${data.join(',')}]`;
  }
}

/**
 * Floats are written by JSON.stringify over a plain array, not by join or String(): V8 keeps
 * the text of every float it formats those ways in its number-to-string cache, which it
 * allocates in the old generation. A 1024-float answer so left about 39 KB there, and at
 * 650 answers a second the server ran a full collection every 4 seconds, each one a burst of
 * late answers (issue 6's notes). JSON.stringify writes each double straight into its output,
 * in the same shortest form (a float32 as the double it widens to), and NaN and Infinity as
 * null, which is all JSON can carry.
 */
function floatsJson(data: Float32Array | Float64Array | Uint16Array, toNumber?: (v: number) => number): string {
  const values = new Array<number>(data.length);
  let negativeZero = false;
  for (let i = 0; i < data.length; i++) {
    const v = toNumber ? toNumber(data[i]!) : data[i]!;
    values[i] = v;
    if (v === 0 && 1 / v < 0) negativeZero = true;
  }
  return negativeZero ? withNegativeZeros(values) : JSON.stringify(values);
}

/** JSON.stringify writes -0 as 0: write its sign, so that JSON answers stay bit-exact. */
function withNegativeZeros(values: number[]): string {
  let s = '[';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (i > 0) s += ',';
    s += v === 0 && 1 / v < 0 ? '-0' : JSON.stringify(v);
  }
  return `${s}]`;
}

/**
 * Appends a tensor's binary form. Typed arrays hold the host's byte order; like viewBytes on
 * the way in, this assumes a little-endian host (x86-64, arm64), which the wire format requires.
 */
function writeBinary(out: Buffer, off: number, data: TensorData): number {
  if (!isBytes(data)) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), off);
    return off + data.byteLength;
  }
  for (const b of data) {
    out.writeUInt32LE(b.byteLength, off);
    out.set(b, off + 4);
    off += 4 + b.byteLength;
  }
  return off;
}
