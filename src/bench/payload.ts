/**
 * Request bodies: seeded random tensors or tensors read from a file, encoded once before the
 * run as KServe JSON or the binary tensor extension, so the sender only hands out buffers.
 */
import os from 'node:os';
import { allocate, halfToNumber, INTEGER_RANGE, isDataType, numberToHalf, type DataType, type NumericArray } from '../core/datatype.js';
import { dataByteLength, elementCount, type Tensor } from '../core/tensor.js';
import { integer, type Rng } from './random.js';
import type { InputSpec } from './shapes.js';

export interface EncodedRequest {
  headers: Record<string, string>;
  body: Buffer;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Integers are drawn from `intRange` (clipped to the datatype), not the full range: token ids
 * and indices beyond a model's table are refused, and [0, 100) fits most.
 */
export function randomTensor(spec: InputSpec, r: Rng, intRange: readonly [number, number] = [0, 100]): Tensor {
  const n = elementCount(spec.shape);
  const { name, datatype, shape } = spec;
  if (datatype === 'BYTES') {
    return { name, datatype, shape, data: Array.from({ length: n }, () => enc.encode(Array.from({ length: 8 }, () => LETTERS[integer(r, 0, 26)]).join(''))) };
  }
  const data = allocate(datatype, n);
  if (datatype === 'BOOL') for (let i = 0; i < n; i++) data[i] = integer(r, 0, 2);
  else if (datatype === 'FP32' || datatype === 'FP64') for (let i = 0; i < n; i++) data[i] = r() * 2 - 1;
  else if (datatype === 'FP16') for (let i = 0; i < n; i++) data[i] = numberToHalf(r() * 2 - 1);
  else {
    const [min, max] = INTEGER_RANGE[datatype]!.map(Number) as [number, number];
    const lo = Math.max(intRange[0], min);
    const hi = Math.min(intRange[1], max + 1);
    if (lo >= hi) throw new Error(`integer range [${intRange[0]}, ${intRange[1]}) is empty for ${datatype}`);
    const wide = datatype === 'INT64' || datatype === 'UINT64';
    for (let i = 0; i < n; i++) data[i] = wide ? BigInt(integer(r, lo, hi)) : integer(r, lo, hi);
  }
  return { name, datatype, shape, data };
}

/** A KServe JSON input (data flat or nested) as a tensor. */
export function tensorFromJson(t: { name?: unknown; datatype?: unknown; shape?: unknown; data?: unknown }): Tensor {
  const name = String(t.name);
  if (!isDataType(t.datatype)) throw new Error(`input '${name}': unknown datatype '${String(t.datatype)}'`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`input '${name}': shape must be a list of whole numbers`);
  if (!Array.isArray(t.data)) throw new Error(`input '${name}': needs a 'data' list (binary_data_size inputs cannot be read from a file)`);
  const datatype: DataType = t.datatype;
  const shape = t.shape as number[];
  const flat = (t.data as unknown[]).flat(Infinity);
  if (flat.length !== elementCount(shape)) throw new Error(`input '${name}': ${flat.length} values for shape [${shape.join(', ')}]`);
  if (datatype === 'BYTES') return { name, datatype, shape, data: flat.map((v) => enc.encode(String(v))) };
  const data = allocate(datatype, flat.length);
  flat.forEach((v, i) => {
    if (datatype === 'BOOL') data[i] = v ? 1 : 0;
    else if (datatype === 'FP16') data[i] = numberToHalf(Number(v));
    else if (datatype === 'INT64' || datatype === 'UINT64') data[i] = BigInt(v as number);
    else data[i] = Number(v);
  });
  return { name, datatype, shape, data };
}

function jsonValues(t: Tensor): unknown[] {
  if (Array.isArray(t.data)) return t.data.map((b) => dec.decode(b));
  const data: NumericArray = t.data;
  if (t.datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (t.datatype === 'FP16') return Array.from(data as Uint16Array, halfToNumber);
  // 64-bit integers go out as JSON numbers; the values drawn here are small enough to be exact.
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  return Array.from(data as ArrayLike<number>);
}

export function encodeJson(inputs: Tensor[]): EncodedRequest {
  const body = JSON.stringify({ inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: jsonValues(t) })) });
  return { headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
}

function tensorBytes(t: Tensor): Buffer {
  if (!Array.isArray(t.data)) return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  // BYTES: each element is a 4-byte little-endian length, then its bytes.
  return Buffer.concat(t.data.flatMap((b) => {
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.byteLength);
    return [n, Buffer.from(b)];
  }));
}

/**
 * The binary tensor extension. Binary outputs are asked for too by default, as perf_analyzer
 * does; `binaryOutput: false` leaves the reply's encoding to the server.
 */
export function encodeBinary(inputs: Tensor[], opts: { binaryOutput?: boolean } = {}): EncodedRequest {
  // Typed arrays hold host byte order, and the wire wants little-endian.
  if (os.endianness() !== 'LE') throw new Error('binary requests are built only on little-endian hosts');
  const header = Buffer.from(JSON.stringify({
    inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: dataByteLength(t.data) } })),
    ...((opts.binaryOutput ?? true) && { parameters: { binary_data_output: true } }),
  }), 'utf8');
  return {
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, ...inputs.map(tensorBytes)]),
  };
}

/**
 * An --input-data file: one KServe request (`{"inputs": [...]}`), a list of them, or an object
 * keyed by model name whose values are either. Returns requests by model; '*' is for any model.
 */
export function parseInputData(text: string): Map<string, Tensor[][]> {
  const doc = JSON.parse(text) as unknown;
  const requests = (v: unknown, where: string): Tensor[][] => {
    const list = Array.isArray(v) ? v : [v];
    return list.map((req, i) => {
      const inputs = (req as { inputs?: unknown }).inputs;
      if (!Array.isArray(inputs)) throw new Error(`${where}[${i}]: a request needs an 'inputs' list`);
      return inputs.map((t) => tensorFromJson(t as Record<string, unknown>));
    });
  };
  if (Array.isArray(doc) || (typeof doc === 'object' && doc !== null && 'inputs' in doc)) return new Map([['*', requests(doc, 'input data')]]);
  if (typeof doc !== 'object' || doc === null) throw new Error('input data must be a JSON object or list');
  return new Map(Object.entries(doc).map(([model, v]) => [model, requests(v, `input data for '${model}'`)]));
}
