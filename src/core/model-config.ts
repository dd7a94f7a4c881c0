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
  /** shoal's addition: absent means requests carry only the deadlines they bring. */
  slo?: Slo;
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

/** Triton's dynamic_batching block; src/scheduling turns it into queue rules and batching config. */
export interface DynamicBatching {
  preferred_batch_size: number[];
  max_queue_delay_microseconds: number;
  preserve_ordering: boolean;
  /** 0: priorities off, one queue. N: levels 1 (highest) to N, every level served before the next. */
  priority_levels: number;
  /** Level of requests that give none; in 1..priority_levels, or 0 when priorities are off. */
  default_priority_level: number;
  /** Queue policy of every level priority_queue_policy does not name (and of the one queue without priorities). */
  default_queue_policy: QueuePolicy;
  /** Per-level policies; as in Triton each entry is a whole policy, not merged with the default. */
  priority_queue_policy: Record<number, QueuePolicy>;
}

/** Triton's ModelQueuePolicy: how long a request may wait in its level's queue, and how many may wait. */
export interface QueuePolicy {
  /** What happens to a request whose timeout passes while it waits: refused, or moved behind its level. */
  timeout_action: 'REJECT' | 'DELAY';
  /** 0: no timeout. */
  default_timeout_microseconds: number;
  /** Whether a request's `timeout` parameter may shorten (never lengthen) the timeout. */
  allow_timeout_override: boolean;
  /** 0: no limit. */
  max_queue_size: number;
}

/**
 * shoal's own service-level objective (Triton has none): the latency a request is promised
 * unless it brings its own deadline. Requests predicted to miss it are refused at admission
 * or dropped before they run, instead of being answered late.
 */
export interface Slo {
  /** Deadline counted from arrival; 0: none. */
  default_deadline_microseconds: number;
}
