import { type DataType, type TensorData, type BytesArray, type NumericArray } from './datatype.js';

/** A named tensor: the unit of data every layer passes on. `data` is flat, row-major. */
export interface Tensor {
  name: string;
  datatype: DataType;
  shape: number[];
  data: TensorData;
}

/** What a model declares for one input or output. -1 marks a dynamic dimension. */
export interface TensorSpec {
  name: string;
  datatype: DataType;
  dims: number[];
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isBytes(data: TensorData): data is BytesArray {
  return Array.isArray(data);
}

export function isNumeric(data: TensorData): data is NumericArray {
  return !Array.isArray(data);
}

/** Size of a tensor's data in bytes as the binary extension lays it out (BYTES: 4-byte length prefix per element). */
export function dataByteLength(data: TensorData): number {
  if (!isBytes(data)) return data.byteLength;
  let n = 0;
  for (const b of data) n += 4 + b.byteLength;
  return n;
}

/** Whether `shape` fits `dims`, where -1 in dims accepts any size. */
export function shapeMatches(shape: readonly number[], dims: readonly number[]): boolean {
  if (shape.length !== dims.length) return false;
  return shape.every((d, i) => dims[i] === -1 || dims[i] === d);
}
