import type { DataType } from './datatype.js';

/**
 * A model's configuration after validation, in Triton's vocabulary (model_config.proto),
 * with datatypes already normalised to KServe names (`TYPE_FP32` in a file becomes `FP32`).
 * Produced by src/repository/config.ts (the only place that parses config files) and by
 * auto-complete from the model file.
 */
export interface ModelConfig {
  name: string;
  platform: 'onnxruntime_onnx';
  backend: 'onnxruntime';
  /** 0: the model has no batch dimension. >0: dims exclude a leading batch dimension up to this size. */
  max_batch_size: number;
  input: TensorConfig[];
  output: TensorConfig[];
  version_policy: VersionPolicy;
  instance_group: InstanceGroup[];
  /** Session options for onnxruntime. */
  optimization: {
    graph_level: GraphOptimizationLevel;
    intra_op_thread_count: number; // 0: let shoal choose
    inter_op_thread_count: number; // 0: let shoal choose
    execution_mode: 'sequential' | 'parallel';
  };
  dynamic_batching?: DynamicBatching;
  /** Free-form parameters, as Triton's `parameters` map. */
  parameters: Record<string, string>;
  /** File name of the model inside each version directory; absent means model.onnx. */
  default_model_filename?: string;
}

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface TensorConfig {
  name: string;
  data_type: DataType;
  /** Excludes the batch dimension when max_batch_size > 0. -1 is dynamic. */
  dims: number[];
  /** Shape the model itself takes or gives, when it differs from `dims` (the client's shape), as Triton's reshape. */
  reshape?: { shape: number[] };
  optional?: boolean;
}

export type VersionPolicy =
  | { latest: { num_versions: number } }
  | { all: Record<string, never> }
  | { specific: { versions: number[] } };

export interface InstanceGroup {
  name?: string;
  count: number;
  kind: 'KIND_CPU' | 'KIND_GPU';
}

/** Triton's dynamic_batching block; the scheduler (issue 3) consumes it. */
export interface DynamicBatching {
  preferred_batch_size: number[];
  max_queue_delay_microseconds: number;
  preserve_ordering: boolean;
}
