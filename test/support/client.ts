/**
 * A small KServe v2 client for end-to-end tests: core tensors in, core tensors out, over real
 * HTTP, with JSON or the binary tensor extension. Written from the protocol, not from the
 * server's codec, so that a codec bug cannot cancel itself out.
 */
import { request } from 'undici';
import { type DataType, halfToNumber, numberToHalf, viewBytes } from '../../src/core/datatype.js';
import type { Tensor } from '../../src/core/tensor.js';
import { bytesChunk, jsonWithBigInts, parseInferResponse, splitBytes } from '../protocol/helpers.js';
import { parseJsonExact } from '../../src/protocol/kserve/json.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const r = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
}

export async function get(url: string): Promise<HttpAnswer> {
  const r = await request(url);
  return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
}

/** JSON value list of a tensor, as a client writes `data`. */
export function jsonData(t: Tensor): unknown[] {
  if (Array.isArray(t.data)) return t.data.map((b) => dec.decode(b));
  if (t.datatype === 'BOOL') return [...t.data].map((v) => v !== 0);
  if (t.datatype === 'FP16') return [...(t.data as Uint16Array)].map(halfToNumber);
  return Array.from(t.data as ArrayLike<number | bigint>);
}

export function tensorBytes(t: Tensor): Buffer {
  if (Array.isArray(t.data)) return bytesChunk(t.data);
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

export async function inferJson(base: string, model: string, inputs: Tensor[], extra: Record<string, unknown> = {}): Promise<Tensor[]> {
  const body = jsonWithBigInts({ ...extra, inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: jsonData(t) })) });
  const r = await post(`${base}/v2/models/${model}/infer`, body);
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.toString()}`);
  const json = parseJsonExact(r.body.toString()) as { outputs: Array<{ name: string; datatype: DataType; shape: number[]; data: unknown[] }> };
  return json.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape, data: fromJson(o.datatype, o.data) }));
}

export async function inferBinary(base: string, model: string, inputs: Tensor[]): Promise<Tensor[]> {
  const header = {
    inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: tensorBytes(t).length } })),
    parameters: { binary_data_output: true },
  };
  const head = Buffer.from(JSON.stringify(header));
  const body = Buffer.concat([head, ...inputs.map(tensorBytes)]);
  const r = await post(`${base}/v2/models/${model}/infer`, body, {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(head.length),
  });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.toString()}`);
  const headerLength = Number(r.headers['inference-header-content-length']);
  const parsed = parseInferResponse(r.body, headerLength);
  return parsed.outputs.map((o) => {
    const dt = o.datatype as DataType;
    if (!o.bytes) throw new Error(`output ${o.name} came without binary data`);
    const data = dt === 'BYTES' ? splitBytes(o.bytes).map((b) => new Uint8Array(b)) : viewBytes(dt, new Uint8Array(o.bytes));
    return { name: o.name, datatype: dt, shape: o.shape, data };
  });
}

function fromJson(dt: DataType, values: unknown[]): Tensor['data'] {
  switch (dt) {
    case 'BYTES': return values.map((v) => enc.encode(v as string));
    case 'BOOL': return Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0));
    case 'FP16': return Uint16Array.from(values as number[], numberToHalf);
    case 'FP32': return Float32Array.from(values as number[]);
    case 'FP64': return Float64Array.from(values as number[]);
    case 'INT8': return Int8Array.from(values as number[]);
    case 'INT16': return Int16Array.from(values as number[]);
    case 'INT32': return Int32Array.from(values as number[]);
    case 'INT64': return BigInt64Array.from(values as Array<number | bigint>, (v) => BigInt(v));
    case 'UINT8': return Uint8Array.from(values as number[]);
    case 'UINT16': return Uint16Array.from(values as number[]);
    case 'UINT32': return Uint32Array.from(values as number[]);
    case 'UINT64': return BigUint64Array.from(values as Array<number | bigint>, (v) => BigInt(v));
  }
}

/** A tensor's data as bytes, for bit-for-bit comparison. */
export function rawBytes(t: Tensor): Buffer {
  return tensorBytes(t);
}
