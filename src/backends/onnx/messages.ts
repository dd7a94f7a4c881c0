import type { TensorSpec } from '../../core/tensor.js';
import type { LoadSpec } from '../backend.js';
import type { MessagePort } from 'node:worker_threads';
import type { WireTensor } from './convert.js';

/**
 * Messages between the event loop and a session worker thread. A worker starts without a model,
 * says `ready` once onnxruntime is imported, and then holds one session at a time: `load` makes
 * it, `release` ends it and leaves the worker ready for the next `load` (the backend keeps a few
 * such workers, so that a load does not pay for starting a thread and importing onnxruntime).
 */

/** What session worker threads call themselves, and the onnxruntime threads they start (session-worker.ts). */
export const SESSION_THREAD_NAME = 'shoal-session';

export interface WorkerInit {
  /** How much to lower the worker's scheduling priority (Linux nice steps) before onnxruntime makes its threads. */
  niceness: number;
}

export type ToWorker =
  /** `results`: where this session's `result` and `run-failed` messages go (OnnxSession.collect reads it). */
  | { kind: 'load'; spec: LoadSpec; results: MessagePort }
  | { kind: 'run'; id: number; feeds: WireTensor[]; fetches: string[] }
  | { kind: 'release' };

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'loaded'; inputs: TensorSpec[]; outputs: TensorSpec[] }
  | { kind: 'load-failed'; message: string }
  /**
   * `computeMs`: how long onnxruntime's run kept the worker busy, for the placement estimates.
   * `startedAt`: when it began, as `performance.timeOrigin + performance.now()` on the worker,
   * which the event loop's own `timeOrigin` turns into its clock (both count from the epoch).
   */
  | { kind: 'result'; id: number; outputs: WireTensor[]; computeMs: number; startedAt: number }
  | { kind: 'run-failed'; id: number; message: string }
  | { kind: 'released' };
