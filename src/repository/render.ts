import type { ModelConfig, TensorConfig } from '../core/model-config.js';
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
  if (cfg.dynamic_batching) {
    out['dynamic_batching'] = {
      preferred_batch_size: [...cfg.dynamic_batching.preferred_batch_size],
      max_queue_delay_microseconds: cfg.dynamic_batching.max_queue_delay_microseconds,
      preserve_ordering: cfg.dynamic_batching.preserve_ordering,
    };
  }
  out['instance_group'] = cfg.instance_group.map((g) => ({ ...(g.name !== undefined && { name: g.name }), kind: g.kind, count: g.count }));
  if (cfg.default_model_filename !== undefined) out['default_model_filename'] = cfg.default_model_filename;
  out['parameters'] = renderParameters(cfg);
  return out;
}

function renderTensor(t: TensorConfig): Record<string, unknown> {
  return {
    name: t.name,
    data_type: tritonDataType(t.data_type),
    dims: [...t.dims],
    ...(t.reshape && { reshape: { shape: [...t.reshape.shape] } }),
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
