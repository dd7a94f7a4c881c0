/** One sample per datatype, at the edges of its range, as JSON values and as binary bytes. */
import type { DataType } from '../../src/core/datatype.js';
import { bytesChunk, le } from './helpers.js';

export interface Sample {
  datatype: DataType;
  /** Values as a client writes them in JSON (bigint: written as a bare integer literal). */
  json: Array<number | bigint | boolean | string>;
  /** The same values as the binary extension lays them out. */
  binary: Buffer;
  /** What the decoded tensor's data holds, element by element. */
  held: Array<number | bigint | string>;
  /** What a JSON response carries back (FP16 comes back as the nearest half). */
  back?: Array<number | bigint | boolean | string>;
}

const half = (bits: number[]): Buffer => le(new Uint16Array(bits));

export const SAMPLES: Sample[] = [
  { datatype: 'BOOL', json: [true, false, true], binary: Buffer.from([1, 0, 1]), held: [1, 0, 1] },
  { datatype: 'UINT8', json: [0, 7, 255], binary: Buffer.from([0, 7, 255]), held: [0, 7, 255] },
  { datatype: 'UINT16', json: [0, 65535], binary: le(new Uint16Array([0, 65535])), held: [0, 65535] },
  { datatype: 'UINT32', json: [0, 4294967295], binary: le(new Uint32Array([0, 4294967295])), held: [0, 4294967295] },
  {
    datatype: 'UINT64', json: [0, 9007199254740993n, 18446744073709551615n],
    binary: le(new BigUint64Array([0n, 9007199254740993n, 18446744073709551615n])),
    held: [0n, 9007199254740993n, 18446744073709551615n],
  },
  { datatype: 'INT8', json: [-128, 0, 127], binary: le(new Int8Array([-128, 0, 127])), held: [-128, 0, 127] },
  { datatype: 'INT16', json: [-32768, 32767], binary: le(new Int16Array([-32768, 32767])), held: [-32768, 32767] },
  { datatype: 'INT32', json: [-2147483648, 2147483647], binary: le(new Int32Array([-2147483648, 2147483647])), held: [-2147483648, 2147483647] },
  {
    datatype: 'INT64', json: [-9223372036854775808n, -1, 9223372036854775807n],
    binary: le(new BigInt64Array([-9223372036854775808n, -1n, 9223372036854775807n])),
    held: [-9223372036854775808n, -1n, 9223372036854775807n],
  },
  {
    // 1, -2.5, 65504 (largest half), 2^-24 (smallest subnormal), 0.1 → nearest half 0.0999755859375
    datatype: 'FP16', json: [1, -2.5, 65504, 2 ** -24, 0.1],
    binary: half([0x3c00, 0xc100, 0x7bff, 0x0001, 0x2e66]),
    held: [0x3c00, 0xc100, 0x7bff, 0x0001, 0x2e66],
    back: [1, -2.5, 65504, 2 ** -24, 0.0999755859375],
  },
  {
    datatype: 'FP32', json: [0.5, -1.25, 3.4028234663852886e38, 1e-45],
    binary: le(new Float32Array([0.5, -1.25, 3.4028234663852886e38, 1e-45])),
    held: [0.5, -1.25, 3.4028234663852886e38, Math.fround(1e-45)],
    back: [0.5, -1.25, 3.4028234663852886e38, Math.fround(1e-45)],
  },
  {
    datatype: 'FP64', json: [Math.PI, -1e300, 5e-324],
    binary: le(new Float64Array([Math.PI, -1e300, 5e-324])), held: [Math.PI, -1e300, 5e-324],
  },
  {
    datatype: 'BYTES', json: ['hello', '', 'héllo ✓'],
    binary: bytesChunk(['hello', '', 'héllo ✓']), held: ['hello', '', 'héllo ✓'],
  },
];
