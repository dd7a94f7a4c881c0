import type { DynamicBatching, ModelConfig, ModelWarmup, SequenceBatching, TensorConfig } from '../core/model-config.js';
import { tritonDataType, tritonExecutionMode, tritonGraphLevel } from './vocabulary.js';

/**
 * A config as Triton's model configuration endpoint returns it (model_config.proto as JSON,
 * 64-bit integers as numbers), so tritonclient's get_model_config users see familiar fields.
 * The result parses back (parseModelConfig) to the same config: every field written here is
 * one the parser reads, in the same units.
 */
export function renderTritonConfig(cfg: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: cfg.name,
    platform: cfg.platform,
    backend: cfg.backend,
    version_policy: renderVersionPolicy(cfg.version_policy),
    max_batch_size: cfg.max_batch_size,
    input: cfg.input.map((t) => ({ ...renderTensor(t), optional: t.optional ?? false })),
    output: cfg.output.map(renderTensor),
    optimization: { graph: { level: tritonGraphLevel(cfg.optimization.graph_level) } },
  };
  if (cfg.dynamic_batching) out['dynamic_batching'] = renderDynamicBatching(cfg.dynamic_batching);
  if (cfg.sequence_batching) out['sequence_batching'] = renderSequenceBatching(cfg.sequence_batching);
  // Not Triton's: written only when set, so configs without it look exactly like Triton's.
  if (cfg.slo) out['slo'] = { default_deadline_microseconds: cfg.slo.default_deadline_microseconds };
  if (cfg.model_warmup) out['model_warmup'] = cfg.model_warmup.map(renderWarmup);
  // Not Triton's, like slo.
  if (cfg.model_management) out['model_management'] = { pinned: cfg.model_management.pinned };
  out['instance_group'] = cfg.instance_group.map((g) => ({ ...(g.name !== undefined && { name: g.name }), kind: g.kind, count: g.count }));
  if (cfg.default_model_filename !== undefined) out['default_model_filename'] = cfg.default_model_filename;
  out['parameters'] = renderParameters(cfg);
  return out;
}

function renderDynamicBatching(d: DynamicBatching): Record<string, unknown> {
  return {
    preferred_batch_size: [...d.preferred_batch_size],
    max_queue_delay_microseconds: d.max_queue_delay_microseconds,
    preserve_ordering: d.preserve_ordering,
    priority_levels: d.priority_levels,
    default_priority_level: d.default_priority_level,
    default_queue_policy: { ...d.default_queue_policy },
    // proto3 JSON writes map keys as strings; the levels come out in ascending order.
    priority_queue_policy: Object.fromEntries(Object.entries(d.priority_queue_policy).map(([level, p]) => [level, { ...p }])),
  };
}

function renderWarmup(w: ModelWarmup): Record<string, unknown> {
  const inputs = Object.fromEntries(Object.entries(w.inputs).map(([name, i]) => [
    name, { data_type: tritonDataType(i.data_type), dims: [...i.dims], [i.data]: true },
  ]));
  return { name: w.name, batch_size: w.batch_size, inputs, count: w.count };
}

function renderTensor(t: TensorConfig): Record<string, unknown> {
  return {
    name: t.name,
    data_type: tritonDataType(t.data_type),
    dims: [...t.dims],
    ...(t.reshape && { reshape: { shape: [...t.reshape.shape] } }),
    // Not Triton's (ragged batching by padding): written only when set.
    ...(t.pad && { pad: { ...t.pad } }),
  };
}

/** Triton's fields as Triton writes them; batch_axis and constant_input are shoal's. */
function renderSequenceBatching(s: SequenceBatching): Record<string, unknown> {
  return {
    max_sequence_idle_microseconds: s.max_sequence_idle_microseconds,
    oldest: { ...s.oldest, preferred_batch_size: [...s.oldest.preferred_batch_size] },
    state: s.state.map((t) => ({
      input_name: t.input_name,
      output_name: t.output_name,
      data_type: tritonDataType(t.data_type),
      dims: [...t.dims],
      batch_axis: t.batch_axis,
      initial_state: [{ data_type: tritonDataType(t.data_type), dims: [...t.dims], zero_data: true, name: 'zeros' }],
    })),
    constant_input: s.constant_input.map((c) => ({ name: c.name, data_type: tritonDataType(c.data_type), dims: [...c.dims], value: [...c.value] })),
  };
}

function renderVersionPolicy(p: ModelConfig['version_policy']): Record<string, unknown> {
  if ('latest' in p) return { latest: { num_versions: p.latest.num_versions } };
  if ('specific' in p) return { specific: { versions: [...p.specific.versions] } };
  return { all: {} };
}

/**
 * Triton's onnxruntime backend reads thread counts and execution mode from `parameters`, so
 * they are written there (always, so the settings in effect are visible), in its format.
 */
function renderParameters(cfg: ModelConfig): Record<string, { string_value: string }> {
  const strings: Record<string, string> = {
    ...cfg.parameters,
    intra_op_thread_count: String(cfg.optimization.intra_op_thread_count),
    inter_op_thread_count: String(cfg.optimization.inter_op_thread_count),
    execution_mode: tritonExecutionMode(cfg.optimization.execution_mode),
  };
  return Object.fromEntries(Object.entries(strings).map(([k, v]) => [k, { string_value: v }]));
}
