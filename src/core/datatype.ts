/**
 * Tensor datatypes in the KServe v2 vocabulary, and how each is held in memory.
 *
 * Every numeric datatype is held in the typed array that matches its width, so a tensor
 * moves from the wire to the backend without conversion. Two need a word:
 * - FP16 is held as raw IEEE half bits in a Uint16Array (Node 20 has no Float16Array);
 *   `halfToNumber`/`numberToHalf` convert at the JSON edge only.
 * - BYTES is held as one Uint8Array per element, since KServe BYTES elements are arbitrary bytes.
 */

export const DATATYPES = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64',
  'INT8', 'INT16', 'INT32', 'INT64',
  'FP16', 'FP32', 'FP64', 'BYTES',
] as const;

export type DataType = (typeof DATATYPES)[number];

export type NumericArray =
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Float32Array | Float64Array;

/** BYTES tensors: one byte string per element. */
export type BytesArray = Uint8Array[];

export type TensorData = NumericArray | BytesArray;

type ArrayCtor = { new (length: number): NumericArray; new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray; BYTES_PER_ELEMENT: number };

interface DatatypeInfo {
  /** Bytes per element; 0 for BYTES, whose elements vary in length. */
  readonly byteSize: number;
  readonly array?: ArrayCtor;
}

const INFO: Record<DataType, DatatypeInfo> = {
  BOOL: { byteSize: 1, array: Uint8Array },
  UINT8: { byteSize: 1, array: Uint8Array },
  UINT16: { byteSize: 2, array: Uint16Array },
  UINT32: { byteSize: 4, array: Uint32Array },
  UINT64: { byteSize: 8, array: BigUint64Array as unknown as ArrayCtor },
  INT8: { byteSize: 1, array: Int8Array },
  INT16: { byteSize: 2, array: Int16Array },
  INT32: { byteSize: 4, array: Int32Array },
  INT64: { byteSize: 8, array: BigInt64Array as unknown as ArrayCtor },
  FP16: { byteSize: 2, array: Uint16Array },
  FP32: { byteSize: 4, array: Float32Array },
  FP64: { byteSize: 8, array: Float64Array },
  BYTES: { byteSize: 0 },
};

export function isDataType(s: unknown): s is DataType {
  return typeof s === 'string' && (DATATYPES as readonly string[]).includes(s);
}

/** Bytes per element, or 0 for BYTES. */
export function byteSize(dt: DataType): number {
  return INFO[dt].byteSize;
}

/** A zero-filled array of `length` elements of a numeric datatype. */
export function allocate(dt: Exclude<DataType, 'BYTES'>, length: number): NumericArray {
  const ctor = INFO[dt].array;
  if (!ctor) throw new Error(`no typed array for ${dt}`);
  return new ctor(length);
}

/**
 * A typed array viewing `bytes` (little-endian, as the binary extension and ONNX use).
 * Copies only when the bytes are not aligned for the element width.
 */
export function viewBytes(dt: Exclude<DataType, 'BYTES'>, bytes: Uint8Array): NumericArray {
  const ctor = INFO[dt].array;
  if (!ctor) throw new Error(`no typed array for ${dt}`);
  const n = bytes.byteLength / ctor.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % ctor.BYTES_PER_ELEMENT === 0) return new ctor(bytes.buffer, bytes.byteOffset, n);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new ctor(copy.buffer, 0, n);
}

/** Inclusive integer range of an integer datatype, as bigint for the 64-bit ones. */
export const INTEGER_RANGE: Partial<Record<DataType, readonly [number | bigint, number | bigint]>> = {
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 4294967295], UINT64: [0n, 18446744073709551615n],
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-2147483648, 2147483647],
  INT64: [-9223372036854775808n, 9223372036854775807n],
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 half → number. */
export function halfToNumber(h: number): number {
  const s = (h & 0x8000) ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** number → IEEE 754 half, rounding to nearest even (via float32, as hardware converters do). */
export function numberToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}
