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
  /** Triton's sequence batcher, for stateful models; exclusive with dynamic_batching. */
  sequence_batching?: SequenceBatching;
  /** shoal's addition: absent means requests carry only the deadlines they bring. */
  slo?: Slo;
  /** Triton's model_warmup: requests run on every instance before the model takes traffic. */
  model_warmup?: ModelWarmup[];
  /** shoal's addition (Triton has none): how automatic memory management treats the model. */
  model_management?: ModelManagement;
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
  /** shoal's addition (ragged batching): requests may differ along this dimension; see TensorPad. */
  pad?: TensorPad;
}

/**
 * shoal's ragged batching (Triton's allow_ragged_batch means something else: inputs passed
 * flattened, with a batch_input describing them). Requests whose `dims[dim]` differ share a
 * batch: each input is padded with `value` up to the longest in the batch, and each output
 * with a `pad` of the same `name` is cut back to the request's own length along its `dim`.
 */
export interface TensorPad {
  /** Index into `dims` (without the batch dimension); that dimension must be dynamic (-1). */
  dim: number;
  /** Names the padded dimension: inputs and outputs that share it grow and shrink together. */
  name: string;
  /** Inputs only: the value padding is filled with. */
  value?: number;
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

/**
 * Triton's ModelSequenceBatching, for stateful models: requests carry `sequence_id`,
 * `sequence_start` and `sequence_end`, and the server holds each live sequence's state
 * tensors between its requests (implicit state). shoal batches as Triton's Oldest strategy
 * does (requests of different sequences together, one per sequence per batch).
 */
export interface SequenceBatching {
  /** A sequence with no request for this long is freed; Triton's default is 1 s. */
  max_sequence_idle_microseconds: number;
  oldest: {
    /** Live sequences at most; a start beyond it is refused (429), where Triton would backlog it. */
    max_candidate_sequences: number;
    preferred_batch_size: number[];
    max_queue_delay_microseconds: number;
  };
  state: SequenceState[];
  /** shoal's addition: inputs the server feeds with a fixed value, unbatched (e.g. Silero's sample rate `sr`). */
  constant_input: ConstantInput[];
}

/** Triton's implicit state: the model reads it from `input_name` and gives the next one as `output_name`. */
export interface SequenceState {
  input_name: string;
  output_name: string;
  data_type: DataType;
  /** Without the batch dimension; fixed sizes only. */
  dims: number[];
  /**
   * shoal's addition: where the batch dimension sits in the model's state tensor. Triton's
   * is always 0; Silero VAD's state is [2, batch, 128], so 1. A sequence starts from zeros.
   */
  batch_axis: number;
}

export interface ConstantInput {
  name: string;
  data_type: DataType;
  /** The whole shape the model is fed, no batch dimension. */
  dims: number[];
  /** Row-major, as many as the dims hold. */
  value: number[];
}

/** Triton's ModelWarmup: `count` runs of a request of `batch_size` rows built from `inputs`. */
export interface ModelWarmup {
  name: string;
  /** Rows; 0 for a model without a batch dimension. */
  batch_size: number;
  inputs: Record<string, WarmupInput>;
  count: number;
}

/** One warm-up input: its datatype, dims (without the batch dimension) and contents. */
export interface WarmupInput {
  data_type: DataType;
  dims: number[];
  data: 'zero_data' | 'random_data';
}

/** shoal's model_management block. */
export interface ModelManagement {
  /** Never evicted under a memory budget, and loaded at start in every model control mode. */
  pinned: boolean;
}
