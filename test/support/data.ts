import type { DataType } from '../../src/core/datatype.js';
import { numberToHalf } from '../../src/core/datatype.js';
import type { Tensor } from '../../src/core/tensor.js';
import { elementCount } from '../../src/core/tensor.js';
import { mulberry32 } from '../../src/onnx/builder.js';

const enc = new TextEncoder();

/** Seeded random data for a tensor of any datatype, edge values included for the integer types. */
export function randomTensor(name: string, datatype: DataType, shape: number[], seed: number): Tensor {
  const n = elementCount(shape);
  const r = mulberry32(seed);
  const pick = <T>(edges: T[], gen: () => T) => Array.from({ length: n }, (_, i) => (i < edges.length ? edges[i]! : gen()));
  const int = (lo: number, hi: number) => () => lo + Math.floor(r() * (hi - lo + 1));
  const big = () => BigInt.asIntN(64, (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32)));
  const data = ((): Tensor['data'] => {
    switch (datatype) {
      case 'BOOL': return Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
      case 'UINT8': return Uint8Array.from(pick([0, 255], int(0, 255)));
      case 'UINT16': return Uint16Array.from(pick([0, 65535], int(0, 65535)));
      case 'UINT32': return Uint32Array.from(pick([0, 4294967295], int(0, 4294967295)));
      case 'UINT64': return BigUint64Array.from(pick([0n, 18446744073709551615n], () => BigInt.asUintN(64, big())));
      case 'INT8': return Int8Array.from(pick([-128, 127], int(-128, 127)));
      case 'INT16': return Int16Array.from(pick([-32768, 32767], int(-32768, 32767)));
      case 'INT32': return Int32Array.from(pick([-2147483648, 2147483647], int(-2147483648, 2147483647)));
      case 'INT64': return BigInt64Array.from(pick([-9223372036854775808n, 9223372036854775807n], big));
      case 'FP16': return Uint16Array.from(pick([numberToHalf(65504), numberToHalf(-6e-8)], () => numberToHalf((r() - 0.5) * 200)));
      case 'FP32': return Float32Array.from({ length: n }, () => (r() - 0.5) * 4);
      case 'FP64': return Float64Array.from(pick([Number.MAX_VALUE, 5e-324], () => (r() - 0.5) * 1e6));
      case 'BYTES': return Array.from({ length: n }, (_, i) => enc.encode(i === 0 ? 'ünïcode ✓' : `s${Math.floor(r() * 1e6)}`));
    }
  })();
  return { name, datatype, shape, data };
}
