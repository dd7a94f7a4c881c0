import type { Tensor as OrtTensorType } from 'onnxruntime-node';
import { type DataType, type NumericArray, type BytesArray } from '../../core/datatype.js';
import { type Tensor, isBytes } from '../../core/tensor.js';
import { ShoalError } from '../../core/errors.js';

type OrtType = OrtTensorType.Type;

/** KServe datatype ⇄ onnxruntime tensor type. */
const TO_ORT: Record<DataType, OrtType> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

const FROM_ORT = new Map<string, DataType>(Object.entries(TO_ORT).map(([k, v]) => [v, k as DataType]));

export function dataTypeFromOrt(t: string): DataType | undefined {
  return FROM_ORT.get(t);
}

/** A tensor as it crosses to and from the session's worker thread: structured-clonable, buffers transferable. */
export interface WireTensor {
  name: string;
  type: OrtType;
  dims: number[];
  data: NumericArray | string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * How numeric data reaches onnxruntime: `copy` into a buffer of its own that can be transferred
 * to the worker (the caller keeps its tensors); `move` the caller's own buffer to the worker (the
 * caller gave it up: RunOptions.inputsMovable); `view` it in place, for a session on this thread.
 */
export type Handover = 'copy' | 'move' | 'view';

/** A core tensor for onnxruntime, its numeric data handed over as `how` says. */
export function toWire(t: Tensor, how: Handover = 'copy'): WireTensor {
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
    return { name: t.name, type: 'string', dims: t.shape, data: strings };
  }
  return { name: t.name, type: TO_ORT[t.datatype], dims: t.shape, data: how === 'copy' ? t.data.slice() : t.data };
}

/** The transferable buffers of wire tensors, each once: tensors moved together often share one (a request's body). */
export function transferList(tensors: readonly WireTensor[]): ArrayBuffer[] {
  const list = new Set<ArrayBuffer>();
  for (const t of tensors) if (!Array.isArray(t.data) && t.data.buffer instanceof ArrayBuffer) list.add(t.data.buffer);
  return [...list];
}

/** A tensor back from the worker as a core tensor. */
export function fromWire(t: WireTensor): Tensor {
  const datatype = dataTypeFromOrt(t.type);
  if (!datatype) throw new ShoalError('internal', `output '${t.name}' has onnxruntime type '${t.type}', which shoal cannot return`);
  if (Array.isArray(t.data)) {
    const data: BytesArray = t.data.map((s) => encoder.encode(s));
    return { name: t.name, datatype, shape: t.dims, data };
  }
  return { name: t.name, datatype, shape: t.dims, data: t.data };
}
