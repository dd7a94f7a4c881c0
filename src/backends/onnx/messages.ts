import type { TensorSpec } from '../../core/tensor.js';
import type { LoadSpec } from '../backend.js';
import type { WireTensor } from './convert.js';

/** Messages between an OnnxSession (event loop) and its worker thread (which owns the onnxruntime session). */

export type WorkerInit = Omit<LoadSpec, 'bytes'> & {
  bytes?: Uint8Array;
  /** How much to lower the worker's scheduling priority (Linux nice steps) before onnxruntime makes its threads. */
  niceness: number;
};

export type ToWorker =
  | { kind: 'run'; id: number; feeds: WireTensor[]; fetches: string[] }
  | { kind: 'release' };

export type FromWorker =
  | { kind: 'loaded'; inputs: TensorSpec[]; outputs: TensorSpec[] }
  | { kind: 'load-failed'; message: string }
  /** `computeMs`: how long onnxruntime's run kept the worker busy, for the placement estimates. */
  | { kind: 'result'; id: number; outputs: WireTensor[]; computeMs: number }
  | { kind: 'run-failed'; id: number; message: string }
  | { kind: 'released' };
