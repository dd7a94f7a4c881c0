import ort from 'onnxruntime-node';
import { type DataType, type NumericArray, type BytesArray } from '../../core/datatype.js';
import { type Tensor, isBytes } from '../../core/tensor.js';
import { ShoalError } from '../../core/errors.js';

/** KServe datatype ⇄ onnxruntime tensor type. */
const TO_ORT: Record<DataType, ort.Tensor.Type> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

const FROM_ORT = new Map<string, DataType>(Object.entries(TO_ORT).map(([k, v]) => [v, k as DataType]));

export function dataTypeFromOrt(t: string): DataType | undefined {
  return FROM_ORT.get(t);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** A core tensor as an onnxruntime tensor, sharing its memory for numeric types. */
export function toOrt(t: Tensor): ort.Tensor {
  if (isBytes(t.data)) {
    // onnxruntime-node's string tensors are JS strings, so BYTES must be valid UTF-8 here; and
    // it cuts an input string at its first NUL, so such elements are refused rather than changed.
    const strings = t.data.map((b, i) => {
      if (b.includes(0)) {
        throw new ShoalError('invalid_argument', `input '${t.name}': BYTES element ${i} contains a NUL byte, which onnxruntime-node string inputs cannot carry`);
      }
      try {
        return utf8.decode(b);
      } catch {
        throw new ShoalError('invalid_argument', `input '${t.name}': BYTES element ${i} is not valid UTF-8, which ONNX string tensors require`);
      }
    });
    return new ort.Tensor('string', strings, t.shape);
  }
  return new ort.Tensor(TO_ORT[t.datatype], t.data as ort.Tensor.DataTypeMap[ort.Tensor.Type], t.shape);
}

/** An onnxruntime tensor as a core tensor. */
export function fromOrt(name: string, t: ort.Tensor): Tensor {
  const datatype = dataTypeFromOrt(t.type);
  if (!datatype) throw new ShoalError('internal', `output '${name}' has onnxruntime type '${t.type}', which shoal cannot return`);
  const shape = t.dims.map(Number);
  if (datatype === 'BYTES') {
    const data: BytesArray = (t.data as string[]).map((s) => encoder.encode(s));
    return { name, datatype, shape, data };
  }
  return { name, datatype, shape, data: t.data as NumericArray };
}
