import { z } from 'zod';
import YAML from 'yaml';
import { invalid } from '../core/errors.js';
import type { DataType } from '../core/datatype.js';
import type { DynamicBatching, ModelConfig, ModelWarmup, QueuePolicy, SequenceBatching, TensorConfig, TensorPad, WarmupInput } from '../core/model-config.js';
import { describeIssue, formatPath, int, integerKeyed, nonEmpty, show, strict } from './fields.js';
import { isSafeName } from './names.js';
import {
  GRAPH_LEVEL_NAMES, TIMEOUT_ACTIONS, TRITON_DATATYPE_NAMES, parseConfigDataType, parseExecutionMode, parseGraphLevel, parseTimeoutAction,
} from './vocabulary.js';

/**
 * The model config file: Triton's model_config.proto vocabulary written as YAML or JSON.
 *
 * Unknown fields are errors, because a misspelt field that is silently ignored leaves the
 * model running with a default nobody chose. Triton fields that shoal does not implement are
 * accepted only at their default value, so Triton's own JSON output (which prints every field)
 * can be pasted in, while a setting that would change behaviour is refused, not dropped.
 */

/** A tensor as the file gives it: datatype and dims may be left for auto-complete to fill. */
export interface PartialTensorConfig extends Omit<TensorConfig, 'data_type' | 'dims'> {
  data_type?: DataType;
  dims?: number[];
}

/** A validated config file with defaults applied, before auto-complete from the model file. */
export interface PartialConfig extends Omit<ModelConfig, 'max_batch_size' | 'input' | 'output'> {
  /** Absent when the file does not say; auto-complete then uses 0 (no batch dimension). */
  max_batch_size?: number;
  input: PartialTensorConfig[];
  output: PartialTensorConfig[];
}

export const DEFAULT_MODEL_FILENAME = 'model.onnx';

export const CONFIG_FILE_NAMES = ['config.yaml', 'config.yml', 'config.json'] as const;

/** The config of a model directory that has no config file. */
export function defaultPartialConfig(name: string): PartialConfig {
  return {
    name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    input: [],
    output: [],
    version_policy: { latest: { num_versions: 1 } },
    instance_group: [{ count: 1, kind: 'KIND_CPU' }],
    optimization: { graph_level: 'all', intra_op_thread_count: 0, inter_op_thread_count: 0, execution_mode: 'sequential' },
    parameters: {},
  };
}

// ---------------------------------------------------------------------------------------------
// Config-specific fields

const dims = z.array(int(-1));

const dataType = z.string().transform((s, ctx) => {
  const dt = parseConfigDataType(s);
  if (dt) return dt;
  ctx.addIssue({
    code: 'custom',
    message: `unknown datatype ${JSON.stringify(s)} (expected one of ${TRITON_DATATYPE_NAMES.join(', ')}; KServe names such as FP32 also work)`,
  });
  return z.NEVER;
});

/** Free-form parameters: `{key: "v"}`, or Triton's `{key: {string_value: "v"}}`. */
const parameters = z.unknown().transform((rec, ctx) => {
  const out: Record<string, string> = {};
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
    ctx.addIssue({ code: 'custom', message: `expected a mapping, got ${show(rec)}` });
    return out;
  }
  for (const [key, v] of Object.entries(rec)) {
    // '__proto__' would set the prototype of `out` instead of adding a parameter.
    if (key === '' || key === '__proto__') {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(key)} is not allowed as a parameter name` });
      continue;
    }
    const inner = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1
      ? (v as Record<string, unknown>)['string_value']
      : v;
    // YAML turns `threads: 4` into a number; the parameter still means the string "4".
    if (typeof inner === 'string' || typeof inner === 'number' || typeof inner === 'boolean') out[key] = String(inner);
    else ctx.addIssue({ code: 'custom', path: [key], message: `expected a string or {string_value: "..."}, got ${show(v)}` });
  }
  return out;
});

// ---------------------------------------------------------------------------------------------
// The schema

const tensorShape = {
  name: nonEmpty,
  data_type: dataType.optional(),
  dims: dims.optional(),
  reshape: strict({ shape: dims }).optional(),
};

/** shoal's ragged batching (TensorPad): `value` only on inputs. */
const outputPad = strict({ dim: int(0), name: nonEmpty });
const inputPad = strict({ dim: int(0), name: nonEmpty, value: z.number().optional() });

const input = strict({ ...tensorShape, optional: z.boolean().optional(), pad: inputPad.optional() }, {
  format: [], is_shape_tensor: [], allow_ragged_batch: [], is_non_linear_format_io: [],
});

const output = strict({ ...tensorShape, pad: outputPad.optional() }, { label_filename: [], is_shape_tensor: [], is_non_linear_format_io: [] });

const versionPolicy = strict({
  latest: strict({ num_versions: int(1).optional() }).optional(),
  all: strict({}).optional(),
  specific: strict({ versions: z.array(int(1)).min(1, { error: 'must list at least one version' }) }).optional(),
}).superRefine((p, ctx) => {
  const given = [p.latest, p.all, p.specific].filter((x) => x !== undefined).length;
  if (given !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of latest, all, specific' });
});

const instanceGroup = strict({
  name: nonEmpty.optional(),
  kind: z.enum(['KIND_CPU', 'KIND_GPU']).optional(),
  count: int(1).optional(),
}, { gpus: [], secondary_devices: [], profile: [], passive: [], host_policy: [], rate_limiter: [] });

const timeoutAction = z.unknown().transform((v, ctx) => {
  const action = parseTimeoutAction(v);
  if (action) return action;
  ctx.addIssue({ code: 'custom', message: `expected one of ${TIMEOUT_ACTIONS.join(', ')}, got ${show(v)}` });
  return z.NEVER;
});

const queuePolicy = strict({
  timeout_action: timeoutAction.optional(),
  default_timeout_microseconds: int(0).optional(),
  allow_timeout_override: z.boolean().optional(),
  max_queue_size: int(0).optional(),
});

type FileQueuePolicy = z.output<typeof queuePolicy>;

const dynamicBatching = strict({
  preferred_batch_size: z.array(int(1)).optional(),
  max_queue_delay_microseconds: int(0).optional(),
  preserve_ordering: z.boolean().optional(),
  priority_levels: int(0).optional(),
  default_priority_level: int(0).optional(),
  default_queue_policy: queuePolicy.optional(),
  priority_queue_policy: integerKeyed(queuePolicy, 'priority level').optional(),
}).superRefine((d, ctx) => {
  const levels = d.priority_levels ?? 0;
  const given = d.default_priority_level ?? 0;
  const named = Object.keys(d.priority_queue_policy ?? {});
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (levels === 0) {
    if (given !== 0) issue(['default_priority_level'], 'needs priority_levels > 0 (with 0, priorities are off)');
    if (named.length) issue(['priority_queue_policy'], 'needs priority_levels > 0 (with 0, priorities are off)');
    return;
  }
  if (given === 0) issue(['default_priority_level'], `is required with priority_levels ${levels}: the level (1 to ${levels}) of requests that give none`);
  else if (given > levels) issue(['default_priority_level'], `${given} is out of range: levels are 1 to ${levels} (priority_levels)`);
  for (const key of named) {
    const level = Number(key);
    if (level < 1 || level > levels) issue(['priority_queue_policy', key], `priority level ${key} is out of range: levels are 1 to ${levels} (priority_levels)`);
  }
});

/** shoal's own block, named in Triton's style (units in the name, `default_` for what a request may replace). */
const slo = strict({ default_deadline_microseconds: int(0).optional() });

/** Triton's implicit state; `batch_axis` is shoal's (see SequenceState). Only zero initial state. */
const sequenceState = strict({
  input_name: nonEmpty,
  output_name: nonEmpty,
  data_type: dataType,
  dims: z.array(int(1)),
  batch_axis: int(0).optional(),
  initial_state: z.array(strict({
    data_type: dataType.optional(),
    dims: dims.optional(),
    zero_data: z.literal(true, { error: 'only zero_data: true is supported (a sequence starts from zeros)' }),
    name: z.string().optional(),
  }, { data_file: 'never' })).optional(),
}, { use_same_buffer_for_input_output: [], use_growable_memory: [] });

/** shoal's: an input fed a fixed value by the server. */
const constantInput = strict({ name: nonEmpty, data_type: dataType, dims: z.array(int(1)), value: z.array(z.number()) })
  .superRefine((c, ctx) => {
    const count = c.dims.reduce((a, b) => a * b, 1);
    if (c.value.length !== count) ctx.addIssue({ code: 'custom', path: ['value'], message: `has ${c.value.length} values but dims [${c.dims.join(', ')}] hold ${count}` });
    if (c.data_type === 'BYTES') ctx.addIssue({ code: 'custom', path: ['data_type'], message: 'must be a numeric datatype' });
    else if (!c.data_type.startsWith('FP') && c.value.some((v) => !Number.isInteger(v))) ctx.addIssue({ code: 'custom', path: ['value'], message: `must be integers for ${c.data_type}` });
  });

/** Triton's sequence batcher, with the Oldest strategy only (Direct's slots are not implemented). */
const sequenceBatching = strict({
  max_sequence_idle_microseconds: int(1).optional(),
  oldest: strict({
    max_candidate_sequences: int(1).optional(),
    preferred_batch_size: z.array(int(1)).optional(),
    max_queue_delay_microseconds: int(0).optional(),
  }, { preserve_ordering: [] }).optional(),
  state: z.array(sequenceState).optional(),
  constant_input: z.array(constantInput).optional(),
}, { direct: 'never', control_input: [], iterative_sequence: [] });

/** Triton's defaults where it has them; max_candidate_sequences is shoal's bound on held state. */
export const SEQUENCE_DEFAULTS = { max_sequence_idle_microseconds: 1_000_000, max_candidate_sequences: 1024 } as const;

/**
 * Triton's ModelWarmup. Inputs take zero_data or random_data; input_data_file is refused (a
 * file named by config would be one more path to check, for little gain).
 */
const warmupInput = strict({
  data_type: dataType,
  dims: z.array(int(1)),
  zero_data: z.boolean().optional(),
  random_data: z.boolean().optional(),
}, { input_data_file: [''] }).superRefine((i, ctx) => {
  if ((i.zero_data === true) === (i.random_data === true)) ctx.addIssue({ code: 'custom', message: 'give exactly one of zero_data: true, random_data: true' });
});

const modelWarmup = strict({
  name: nonEmpty,
  batch_size: int(0).optional(),
  inputs: z.record(z.string(), warmupInput),
  count: int(1).optional(),
});

/** shoal's own block (Triton has none): how memory management treats the model. */
const modelManagement = strict({ pinned: z.boolean().optional() });

const graphLevel = z.unknown().transform((v, ctx) => {
  const level = parseGraphLevel(v);
  if (level) return level;
  ctx.addIssue({ code: 'custom', message: `expected -1 (basic), 0 (all), 1 (extended) or 2 (disabled), or one of ${GRAPH_LEVEL_NAMES.join(', ')}; got ${show(v)}` });
  return z.NEVER;
});

const optimization = strict({ graph: strict({ level: graphLevel.optional() }).optional() }, {
  priority: [], cuda: [], execution_accelerators: [], gather_kernel_buffer_threshold: [], eager_batching: [],
  input_pinned_memory: [{ enable: true }], output_pinned_memory: [{ enable: true }],
});

const onlyValue = (value: string, why: string) => z.string().refine((s) => s === '' || s === value, {
  error: (iss) => `${why} (got ${show(iss.input)})`,
});

const fileSchema = strict({
  name: z.string().optional(),
  platform: onlyValue('onnxruntime_onnx', 'shoal serves ONNX models only: platform must be onnxruntime_onnx').optional(),
  backend: onlyValue('onnxruntime', 'shoal runs models on onnxruntime only: backend must be onnxruntime').optional(),
  max_batch_size: int(0).optional(),
  input: z.array(input).optional(),
  output: z.array(output).optional(),
  version_policy: versionPolicy.optional(),
  instance_group: z.array(instanceGroup).optional(),
  optimization: optimization.optional(),
  dynamic_batching: dynamicBatching.optional(),
  slo: slo.optional(),
  sequence_batching: sequenceBatching.optional(),
  model_warmup: z.array(modelWarmup).optional(),
  model_management: modelManagement.optional(),
  parameters: parameters.optional(),
  default_model_filename: z.string().refine(isSafeName, { error: 'must be a plain file name (no path separators)' }).optional(),
}, {
  runtime: [], batch_input: [], batch_output: [], cc_model_filenames: [], metric_tags: [],
  model_operations: [], model_transaction_policy: [], model_repository_agents: [], response_cache: [],
  ensemble_scheduling: 'never',
}).superRefine((c, ctx) => {
  for (const list of ['input', 'output'] as const) {
    const seen = new Set<string>();
    c[list]?.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [list, i, 'name'], message: `duplicate ${list} ${JSON.stringify(t.name)}` });
      seen.add(t.name);
      const problem = reshapeProblem(t.dims, t.reshape?.shape);
      if (problem) ctx.addIssue({ code: 'custom', path: [list, i, 'reshape'], message: problem });
    });
  }
  if (c.dynamic_batching) {
    // An unset max_batch_size means 0: a batch dimension is never guessed from the model.
    const problem = batchingProblem(c.max_batch_size ?? 0, c.dynamic_batching.preferred_batch_size ?? []);
    if (problem) ctx.addIssue({ code: 'custom', path: ['dynamic_batching', ...problem.path], message: problem.message });
  }
  if (c.sequence_batching) {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path: ['sequence_batching', ...path], message });
    if (c.dynamic_batching) issue([], 'cannot be combined with dynamic_batching (a model has one scheduler, as in Triton)');
    if (!c.max_batch_size) issue([], 'needs max_batch_size > 0 (the batch dimension is where requests of different sequences meet)');
    const preferred = c.sequence_batching.oldest?.preferred_batch_size ?? [];
    const i = preferred.findIndex((p) => p > (c.max_batch_size ?? 0));
    if (c.max_batch_size && i >= 0) issue(['oldest', 'preferred_batch_size', i], `${preferred[i]} exceeds max_batch_size ${c.max_batch_size}`);
    c.input?.forEach((t, k) => t.pad && issue([], `cannot be combined with input[${k}].pad: a sequence model's requests carry one row each, never padded`));
    c.sequence_batching.state?.forEach((t, k) => {
      if ((t.batch_axis ?? 0) > t.dims.length) issue(['state', k, 'batch_axis'], `${t.batch_axis} is beyond the state's ${t.dims.length + 1} dimensions`);
    });
  }
  for (const list of ['input', 'output'] as const) {
    c[list]?.forEach((t, i) => {
      if (!t.pad) return;
      const problem = !t.dims ? 'needs dims, to say which dimension is padded'
        : t.pad.dim >= t.dims.length ? `dim ${t.pad.dim} is beyond dims [${t.dims.join(', ')}]`
        : t.dims[t.pad.dim] !== -1 ? `dims[${t.pad.dim}] is ${t.dims[t.pad.dim]}; only a dynamic (-1) dimension can be padded`
        : t.reshape ? 'cannot be combined with reshape' : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path: [list, i, 'pad'], message: problem });
    });
  }
}).transform((c, ctx) => {
  const { params, optimization: opt } = splitOnnxruntimeParameters(c.parameters ?? {}, ctx);
  const defaults = defaultPartialConfig(c.name ?? '');
  const partial: PartialConfig = {
    ...defaults,
    name: c.name ?? '',
    input: (c.input ?? []).map(tensor),
    output: (c.output ?? []).map(tensor),
    version_policy: c.version_policy ? toVersionPolicy(c.version_policy) : defaults.version_policy,
    instance_group: c.instance_group?.length
      ? c.instance_group.map((g) => ({ ...(g.name !== undefined && { name: g.name }), count: g.count ?? 1, kind: g.kind ?? 'KIND_CPU' }))
      : defaults.instance_group,
    optimization: { ...defaults.optimization, ...opt, ...(c.optimization?.graph?.level && { graph_level: c.optimization.graph.level }) },
    parameters: params,
  };
  if (c.max_batch_size !== undefined) partial.max_batch_size = c.max_batch_size;
  if (c.default_model_filename !== undefined) partial.default_model_filename = c.default_model_filename;
  if (c.dynamic_batching) partial.dynamic_batching = toDynamicBatching(c.dynamic_batching);
  if (c.slo) partial.slo = { default_deadline_microseconds: c.slo.default_deadline_microseconds ?? 0 };
  if (c.sequence_batching) partial.sequence_batching = toSequenceBatching(c.sequence_batching);
  if (c.model_warmup?.length) partial.model_warmup = c.model_warmup.map(toWarmup);
  if (c.model_management) partial.model_management = { pinned: c.model_management.pinned ?? false };
  return partial;
});

function toWarmup(w: z.output<typeof modelWarmup>): ModelWarmup {
  // fromEntries defines own properties, so an input named __proto__ stays an input.
  const inputs: Record<string, WarmupInput> = Object.fromEntries(Object.entries(w.inputs).map(([name, i]) => [
    name, { data_type: i.data_type, dims: i.dims, data: i.random_data ? 'random_data' : 'zero_data' } satisfies WarmupInput,
  ]));
  return { name: w.name, batch_size: w.batch_size ?? 0, inputs, count: w.count ?? 1 };
}

function toDynamicBatching(d: z.output<typeof dynamicBatching>): DynamicBatching {
  const byLevel: Record<number, QueuePolicy> = {};
  for (const [level, p] of Object.entries(d.priority_queue_policy ?? {})) byLevel[Number(level)] = toQueuePolicy(p);
  return {
    preferred_batch_size: d.preferred_batch_size ?? [],
    max_queue_delay_microseconds: d.max_queue_delay_microseconds ?? 0,
    preserve_ordering: d.preserve_ordering ?? false,
    priority_levels: d.priority_levels ?? 0,
    default_priority_level: d.default_priority_level ?? 0,
    default_queue_policy: toQueuePolicy(d.default_queue_policy ?? {}),
    priority_queue_policy: byLevel,
  };
}

/** Unset fields take proto3's defaults, as in Triton: a level's policy does not inherit from the default policy. */
function toQueuePolicy(p: FileQueuePolicy): QueuePolicy {
  return {
    timeout_action: p.timeout_action ?? 'REJECT',
    default_timeout_microseconds: p.default_timeout_microseconds ?? 0,
    allow_timeout_override: p.allow_timeout_override ?? false,
    max_queue_size: p.max_queue_size ?? 0,
  };
}

function toSequenceBatching(s: z.output<typeof sequenceBatching>): SequenceBatching {
  return {
    max_sequence_idle_microseconds: s.max_sequence_idle_microseconds ?? SEQUENCE_DEFAULTS.max_sequence_idle_microseconds,
    oldest: {
      max_candidate_sequences: s.oldest?.max_candidate_sequences ?? SEQUENCE_DEFAULTS.max_candidate_sequences,
      preferred_batch_size: s.oldest?.preferred_batch_size ?? [],
      max_queue_delay_microseconds: s.oldest?.max_queue_delay_microseconds ?? 0,
    },
    state: (s.state ?? []).map((t) => ({
      input_name: t.input_name, output_name: t.output_name, data_type: t.data_type, dims: t.dims, batch_axis: t.batch_axis ?? 0,
    })),
    constant_input: s.constant_input ?? [],
  };
}

function tensor(t: { name: string; data_type?: DataType; dims?: number[]; reshape?: { shape: number[] }; optional?: boolean; pad?: TensorPad }): PartialTensorConfig {
  const out: PartialTensorConfig = { name: t.name };
  if (t.data_type !== undefined) out.data_type = t.data_type;
  if (t.dims !== undefined) out.dims = t.dims;
  if (t.reshape !== undefined) out.reshape = { shape: t.reshape.shape };
  if (t.optional) out.optional = true; // false is the default; keep the config minimal
  if (t.pad) out.pad = { ...t.pad };
  return out;
}

function toVersionPolicy(p: { latest?: { num_versions?: number }; all?: object; specific?: { versions: number[] } }): ModelConfig['version_policy'] {
  if (p.specific) return { specific: { versions: [...new Set(p.specific.versions)].sort((a, b) => a - b) } };
  if (p.all) return { all: {} };
  return { latest: { num_versions: p.latest?.num_versions ?? 1 } };
}

/** Reshape changes the shape, never the element count; checkable only when both are fixed. */
function reshapeProblem(dimsGiven: number[] | undefined, shape: number[] | undefined): string | undefined {
  if (!shape) return undefined;
  if (!dimsGiven) return 'needs dims as well (dims is the shape clients use; reshape.shape is what the model sees)';
  if (dimsGiven.includes(-1) || shape.includes(-1)) return undefined;
  const count = (d: number[]) => d.reduce((a, b) => a * b, 1);
  if (count(dimsGiven) !== count(shape)) {
    return `shape [${shape.join(', ')}] holds ${count(shape)} elements but dims [${dimsGiven.join(', ')}] hold ${count(dimsGiven)}`;
  }
  return undefined;
}

/** Shared with auto-complete, which checks the config it is handed again. */
export function batchingProblem(maxBatchSize: number, preferred: readonly number[]): { path: (string | number)[]; message: string } | undefined {
  if (maxBatchSize === 0) return { path: [], message: 'needs max_batch_size > 0 (with 0 the model has no batch dimension to batch along)' };
  const i = preferred.findIndex((p) => p > maxBatchSize);
  if (i >= 0) return { path: ['preferred_batch_size', i], message: `${preferred[i]} exceeds max_batch_size ${maxBatchSize}` };
  return undefined;
}

const ONNXRUNTIME_KEYS = ['intra_op_thread_count', 'inter_op_thread_count', 'execution_mode'] as const;

/**
 * Triton's onnxruntime backend takes thread counts and execution mode as parameters; shoal
 * keeps them in `optimization` (the one place the backend reads), so they leave `parameters`.
 */
function splitOnnxruntimeParameters(all: Record<string, string>, ctx: z.RefinementCtx) {
  const params = { ...all };
  const optimization: Partial<ModelConfig['optimization']> = {};
  for (const key of ONNXRUNTIME_KEYS) {
    const v = params[key];
    if (v === undefined) continue;
    delete params[key];
    if (key === 'execution_mode') {
      const mode = parseExecutionMode(v);
      if (mode) optimization.execution_mode = mode;
      else ctx.addIssue({ code: 'custom', path: ['parameters', key], message: `expected "0" (sequential) or "1" (parallel), got ${show(v)}` });
    } else if (/^[0-9]{1,6}$/.test(v)) {
      optimization[key] = Number(v);
    } else {
      ctx.addIssue({ code: 'custom', path: ['parameters', key], message: `expected a thread count (0 lets shoal choose), got ${show(v)}` });
    }
  }
  return { params, optimization };
}

// ---------------------------------------------------------------------------------------------
// Errors and entry point

const MAX_REPORTED_ISSUES = 5;

function configError(file: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): Error {
  const parts = issues.slice(0, MAX_REPORTED_ISSUES).map((i) => (i.path.length ? `${formatPath(i.path)}: ${i.message}` : i.message));
  if (issues.length > MAX_REPORTED_ISSUES) parts.push(`and ${issues.length - MAX_REPORTED_ISSUES} more problems`);
  return invalid(`${file}: ${parts.join('; ')}`);
}

function parseText(text: string, file: string): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const where = problem.linePos ? `line ${problem.linePos[0].line}, column ${problem.linePos[0].col}: ` : '';
    throw invalid(`${file}: ${where}${problem.message.replace(/ at line \d+, column \d+[\s\S]*$/, '')}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {}; // an empty file is a config with every default
  } catch (e) {
    throw invalid(`${file}: ${(e as Error).message}`); // e.g. aliases expanding without bound
  }
}

/**
 * Parses and validates a config file's text (YAML, or JSON, which YAML reads as well).
 * `file` names the file in error messages; `dirName` is the model directory's name, which a
 * `name` in the file must equal. Throws ShoalError invalid_argument with one readable message.
 */
export function parseModelConfig(text: string, file: string, dirName: string): PartialConfig {
  const raw = parseText(text, file);
  if (typeof raw !== 'object' || Array.isArray(raw) || raw === null) {
    throw invalid(`${file}: expected a mapping of config fields at the top level, got ${show(raw)}`);
  }
  const result = fileSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    throw configError(file, result.error.issues.map((iss) => ({ path: iss.path, message: describeIssue(iss) })));
  }
  const config = result.data;
  if (config.name !== '' && config.name !== dirName) {
    throw configError(file, [{ path: ['name'], message: `${JSON.stringify(config.name)} does not match the model directory ${JSON.stringify(dirName)}` }]);
  }
  config.name = dirName;
  return config;
}
