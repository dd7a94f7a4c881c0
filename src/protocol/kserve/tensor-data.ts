/**
 * Tensor data from the wire into the typed arrays of core/datatype.ts: from JSON `data`
 * (flat or nested) and from binary tensor data. Every value is checked against its datatype
 * here, so nothing past the adapter sees a number that does not fit its tensor.
 */
import {
  type DataType, type TensorData, type BytesArray,
  INTEGER_RANGE, byteSize, numberToHalf, viewBytes,
} from '../../core/datatype.js';
import { invalid, type ShoalError } from '../../core/errors.js';
import { describe } from './json.js';

/**
 * Thrown (not an error) when JSON.parse has rounded a 64-bit integer: the decoder then
 * parses the body again with the exact parser and starts over.
 */
export const NEEDS_EXACT_INTEGERS = Symbol('needs exact integers');

const utf8 = new TextEncoder();

/** Data of one input given as JSON, already checked to have `count` = product of `shape`. */
export function tensorFromJson(
  input: string, datatype: DataType, shape: readonly number[], count: number, data: unknown, exact: boolean,
): TensorData {
  if (!Array.isArray(data)) throw invalid(`input '${input}': data must be an array, got ${describe(data)}`);
  const flat = data.length === 0 || !Array.isArray(data[0]) ? data : flatten(input, shape, data);
  if (flat.length !== count) {
    throw invalid(`input '${input}': data has ${flat.length} elements but shape [${shape.join(',')}] needs ${count}`);
  }
  return convert(input, datatype, flat, exact);
}

/**
 * Nested data must mirror the shape exactly, row-major. Reads the dims off the first
 * elements, compares them with the shape, then checks every sibling agrees ("ragged" if not).
 */
function flatten(input: string, shape: readonly number[], data: unknown[]): unknown[] {
  const dims: number[] = [];
  for (let v: unknown = data; Array.isArray(v); v = v[0]) dims.push(v.length);
  if (dims.length !== shape.length || dims.some((d, k) => d !== shape[k])) {
    throw invalid(`input '${input}': nested data has dims [${dims.join(',')}] (read along its first elements) `
      + `but shape is [${shape.join(',')}]`);
  }
  const out: unknown[] = [];
  const walk = (v: unknown[], depth: number, path: string): void => {
    const leaf = depth === dims.length - 1;
    for (let k = 0; k < v.length; k++) {
      const e = v[k];
      const here = `${path}[${k}]`;
      if (leaf) {
        if (Array.isArray(e)) throw invalid(`input '${input}': ragged data: ${here} is an array where a value belongs`);
        out.push(e);
      } else {
        if (!Array.isArray(e)) throw invalid(`input '${input}': ragged data: ${here} is a value where an array of ${dims[depth + 1]} belongs`);
        if (e.length !== dims[depth + 1]) {
          throw invalid(`input '${input}': ragged data: ${here} has ${e.length} elements, expected ${dims[depth + 1]}`);
        }
        walk(e, depth + 1, here);
      }
    }
  };
  walk(data, 0, 'data');
  return out;
}

function convert(input: string, dt: DataType, values: readonly unknown[], exact: boolean): TensorData {
  const n = values.length;
  const bad = (i: number, expected: string): ShoalError =>
    invalid(`input '${input}': element ${i} of ${dt} data is ${describe(values[i])}; expected ${expected}`);

  switch (dt) {
    case 'FP32':
    case 'FP64': {
      const out = dt === 'FP32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v === 'number') out[i] = v;
        else if (typeof v === 'bigint') out[i] = Number(v); // an exact-parse integer literal
        else throw bad(i, 'a number');
      }
      return out;
    }
    case 'FP16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v === 'number') out[i] = numberToHalf(v);
        else if (typeof v === 'bigint') out[i] = numberToHalf(Number(v));
        else throw bad(i, 'a number');
      }
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') throw bad(i, 'true or false');
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'INT64':
    case 'UINT64': {
      const [lo, hi] = INTEGER_RANGE[dt] as readonly [bigint, bigint];
      const out = dt === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let b: bigint;
        if (typeof v === 'bigint') b = v;
        else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
        else if (typeof v === 'number' && Number.isInteger(v)) {
          // JSON.parse may have rounded the literal: re-read it exactly. If it is still a
          // number after that, it was written with a fraction or exponent and may be rounded.
          if (!exact) throw NEEDS_EXACT_INTEGERS;
          throw bad(i, 'a plain integer literal: beyond 2^53, forms like 1e19 or 5.0 are not exact');
        } else throw bad(i, `an integer from ${lo} to ${hi}`);
        if (b < lo || b > hi) throw bad(i, `an integer from ${lo} to ${hi}`);
        out[i] = b;
      }
      return out;
    }
    case 'BYTES': {
      const out: BytesArray = new Array<Uint8Array>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'string') throw bad(i, 'a string');
        out[i] = utf8.encode(v);
      }
      return out;
    }
    default: {
      // The 8-, 16- and 32-bit integers.
      const [lo, hi] = INTEGER_RANGE[dt] as readonly [number, number];
      const out = new (ARRAY_OF[dt])(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(i, `an integer from ${lo} to ${hi}`);
        out[i] = v;
      }
      return out;
    }
  }
}

const ARRAY_OF = {
  UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array,
  INT8: Int8Array, INT16: Int16Array, INT32: Int32Array,
} as const;

/**
 * Data of one input sent as binary: a view into the request body, copied only where
 * the element width demands alignment the body does not have.
 */
export function tensorFromBinary(input: string, dt: DataType, count: number, bytes: Uint8Array): TensorData {
  if (dt === 'BYTES') return bytesFromBinary(input, count, bytes);
  const need = count * byteSize(dt);
  if (bytes.byteLength !== need) {
    throw invalid(`input '${input}': binary_data_size is ${bytes.byteLength} but ${count} ${dt} elements take ${need} bytes`);
  }
  if (dt === 'BOOL') {
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! > 1) throw invalid(`input '${input}': BOOL element ${i} is byte ${bytes[i]}; expected 0 or 1`);
    }
  }
  return viewBytes(dt, bytes);
}

/** BYTES as the binary extension lays them out: per element a u32 little-endian length, then the bytes. */
function bytesFromBinary(input: string, count: number, bytes: Uint8Array): BytesArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BytesArray = [];
  let off = 0;
  while (off < bytes.byteLength) {
    if (out.length === count) {
      throw invalid(`input '${input}': ${bytes.byteLength - off} bytes left over after the ${count} BYTES elements the shape needs`);
    }
    if (off + 4 > bytes.byteLength) {
      throw invalid(`input '${input}': BYTES element ${out.length} is cut off inside its 4-byte length prefix`);
    }
    const len = view.getUint32(off, true);
    off += 4;
    if (off + len > bytes.byteLength) {
      throw invalid(`input '${input}': BYTES element ${out.length} claims ${len} bytes but only ${bytes.byteLength - off} remain`);
    }
    out.push(bytes.subarray(off, off + len));
    off += len;
  }
  if (out.length !== count) {
    throw invalid(`input '${input}': binary data holds ${out.length} BYTES elements but the shape needs ${count}`);
  }
  return out;
}
