import type { Tensor, TensorSpec } from '../core/tensor.js';
import type { GraphOptimizationLevel } from '../core/model-config.js';

/**
 * The narrow interface every backend implements (onnxruntime now, a cost model for the
 * simulator later), in the spirit of Triton's backend API: load a model file into a session,
 * run batches on it, report its footprint, unload it.
 */
export interface Backend {
  readonly name: string;
  /**
   * Loads may overlap; a session's `footprintBytes` is only its own when its load ran alone (the
   * caller's to arrange: resident-memory growth is process-wide).
   */
  load(spec: LoadSpec): Promise<BackendSession>;
  /**
   * Gets ready for the next loads ahead of time (OnnxBackend: starts spare worker threads), so
   * that they do not pay for it. It takes memory, so a caller measuring a load does not run it
   * meanwhile. Optional.
   */
  prepare?(): Promise<void>;
  /** Ends what `prepare` and unloads left idle (spare worker threads); later loads still work. Optional. */
  close?(): Promise<void>;
}

export interface LoadSpec {
  /** Path of the model file; only the repository builds it, never a request. */
  path: string;
  /** Or the model's bytes, when they are already in memory. */
  bytes?: Uint8Array;
  intraOpThreads: number;
  interOpThreads: number;
  graphOptimizationLevel: GraphOptimizationLevel;
  executionMode: 'sequential' | 'parallel';
}

export interface RunOptions {
  /**
   * The caller gives the inputs' memory up: it reads them no more, and no other data share their
   * buffers, so the backend may move the buffers (to a worker thread, say) instead of copying them.
   */
  inputsMovable?: boolean;
  /**
   * Told, before the run's promise settles, where its time went, when the backend can say:
   * the caller then reports Triton's compute_input, compute_infer and compute_output apart.
   */
  timing?: (t: RunTiming) => void;
}

/** Where one run's time went, as the backend saw it. */
export interface RunTiming {
  /** From the call to `run` until the model began: handing the inputs to the thread that runs it, and that thread's wait for a core. */
  handOffMs: number;
  /** The model's own run. */
  inferMs: number;
}

export interface BackendSession {
  /** Inputs and outputs as the model file declares them; -1 marks a dynamic dimension. */
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** Memory the session holds, in bytes, measured at load. */
  readonly footprintBytes: number;
  /** Runs one batch without holding up the event loop for long (see docs/architecture.md). Returns the named outputs, in the order asked. */
  run(inputs: Tensor[], outputNames: string[], opts?: RunOptions): Promise<Tensor[]>;
  /**
   * Settles, now, the runs whose results have already come back but not yet been delivered
   * (OnnxBackend: results a worker thread posted that the event loop has not reached). Optional;
   * see BatchRunner.collect for why a scheduler asks.
   */
  collect?(): void;
  unload(): Promise<void>;
}
