import type { InferRequest, InferResponse } from './request.js';
import type { TensorSpec } from './tensor.js';

/**
 * What a protocol adapter may ask of the server: the KServe v2 operations plus Triton's
 * repository, configuration and statistics extensions, in protocol-free terms.
 * Methods throw ShoalError; adapters map its kind to a status code.
 */
export interface InferenceService {
  /** The process is up. */
  live(): boolean;
  /** Ready to take inference requests (false while starting or draining). */
  ready(): boolean;
  serverMetadata(): ServerMetadata;
  modelMetadata(model: string, version?: string): ModelMetadata;
  /** Throws not_found for a model the repository does not have; false if it has it but is not ready. */
  modelReady(model: string, version?: string): boolean;
  /** The model configuration as Triton's JSON (model_config.proto as JSON). */
  modelConfig(model: string, version?: string): Record<string, unknown>;
  infer(request: InferRequest): Promise<InferResponse>;
  repositoryIndex(readyOnly: boolean): RepositoryEntry[];
  loadModel(model: string): Promise<void>;
  unloadModel(model: string): Promise<void>;
  /** Statistics for one model (and version), or all when model is undefined. */
  modelStatistics(model?: string, version?: string): ModelStatistics[];
}

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  /** As the client sends them: a batched model's shapes start with -1. */
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export type ModelState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

export interface RepositoryEntry {
  name: string;
  version?: string;
  state: ModelState;
  reason: string;
}

/** Triton's statistics extension, with durations in nanoseconds. */
export interface Duration {
  count: number;
  ns: number;
}

export interface ModelStatistics {
  name: string;
  version: string;
  /** ms since the epoch of the last inference, 0 if none (as Triton reports it). */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: {
    success: Duration;
    fail: Duration;
    queue: Duration;
    compute_input: Duration;
    compute_infer: Duration;
    compute_output: Duration;
  };
  batch_stats: Array<{
    batch_size: number;
    compute_input: Duration;
    compute_infer: Duration;
    compute_output: Duration;
  }>;
}
