import { invalid } from '../core/errors.js';
import type { ModelConfig, TensorConfig } from '../core/model-config.js';
import type { TensorSpec } from '../core/tensor.js';
import { batchingProblem, type PartialConfig, type PartialTensorConfig } from './config.js';
import { formatPath } from './fields.js';

/**
 * Auto-complete: the model file knows its inputs and outputs, so the config need not repeat
 * them. What the config does say is checked against the model, so a stale config fails at
 * load with a message naming the tensor instead of failing on every request.
 *
 * Unlike Triton's onnxruntime backend, a leading dynamic dimension is not taken to be a batch
 * dimension on its own: only a config with max_batch_size > 0 says the model batches, since
 * a guess would change the shapes clients must send.
 */

export interface ModelIO {
  /** As the model file declares them: full shapes, -1 for dynamic dimensions. */
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** Fills `partial` in from the model's metadata and checks it; `file` prefixes error messages. */
export function completeConfig(partial: PartialConfig, fromModel: ModelIO, file: string): ModelConfig {
  const maxBatchSize = partial.max_batch_size ?? 0;
  if (partial.dynamic_batching) {
    const problem = batchingProblem(maxBatchSize, partial.dynamic_batching.preferred_batch_size);
    if (problem) throw invalid(`${file}: ${formatPath(['dynamic_batching', ...problem.path])}: ${problem.message}`);
  }
  const ctx = { maxBatchSize, file };
  return {
    ...partial,
    max_batch_size: maxBatchSize,
    input: completeTensors('input', partial.input, fromModel.inputs, ctx),
    output: completeTensors('output', partial.output, fromModel.outputs, ctx),
  };
}

interface Context {
  maxBatchSize: number;
  file: string;
}

/** The model's tensors in the model's order, each merged with the config's entry if any. */
function completeTensors(
  kind: 'input' | 'output',
  declared: readonly PartialTensorConfig[],
  model: readonly TensorSpec[],
  ctx: Context,
): TensorConfig[] {
  const byName = new Map(declared.map((t) => [t.name, t]));
  const modelNames = new Set(model.map((t) => t.name));
  for (const t of declared) {
    if (!modelNames.has(t.name)) {
      const known = model.map((m) => JSON.stringify(m.name)).join(', ') || 'none';
      throw invalid(`${ctx.file}: ${kind} ${JSON.stringify(t.name)} is not an ${kind} of the model (the model's ${kind}s: ${known})`);
    }
  }
  return model.map((spec) => merge(kind, spec, byName.get(spec.name), ctx));
}

function merge(kind: string, spec: TensorSpec, conf: PartialTensorConfig | undefined, ctx: Context): TensorConfig {
  const where = `${ctx.file}: ${kind} ${JSON.stringify(spec.name)}`;
  const modelDims = withoutBatch(spec.dims, where, ctx.maxBatchSize);
  const dataType = conf?.data_type ?? spec.datatype;
  if (dataType !== spec.datatype) {
    throw invalid(`${where}: data_type ${dataType} does not match the model's ${spec.datatype}`);
  }
  const out: TensorConfig = { name: spec.name, data_type: dataType, dims: [...modelDims] };
  if (conf?.dims) {
    // With reshape, the model sees reshape.shape and clients use dims (Triton's meaning).
    const [label, seen] = conf.reshape ? ['reshape.shape', conf.reshape.shape] : ['dims', conf.dims];
    checkCompatible(seen, modelDims, `${where}: ${label}`, spec.dims.length, ctx.maxBatchSize);
    out.dims = [...conf.dims];
    if (conf.reshape) out.reshape = { shape: [...conf.reshape.shape] };
  }
  if (conf?.optional) out.optional = true;
  if (conf?.pad) out.pad = { ...conf.pad };
  return out;
}

/** With batching, the model's first dimension is the batch and must be free to vary. */
function withoutBatch(dims: readonly number[], where: string, maxBatchSize: number): readonly number[] {
  if (maxBatchSize === 0) return dims;
  if (dims[0] !== -1) {
    throw invalid(
      `${where}: max_batch_size is ${maxBatchSize} but the model's shape [${dims.join(', ')}] does not start with a dynamic (-1) batch dimension; ` +
      'set max_batch_size: 0, or export the model with a dynamic first dimension',
    );
  }
  return dims.slice(1);
}

/** The config may fix a dimension the model leaves dynamic, never the other way round. */
function checkCompatible(conf: readonly number[], model: readonly number[], where: string, modelRank: number, maxBatchSize: number): void {
  if (conf.length !== model.length) {
    const hint = maxBatchSize > 0 && conf.length === modelRank
      ? ' (with max_batch_size > 0, dims leave out the batch dimension)'
      : '';
    throw invalid(`${where} [${conf.join(', ')}] has ${conf.length} dimensions but the model's [${model.join(', ')}] has ${model.length}${hint}`);
  }
  model.forEach((m, i) => {
    const c = conf[i]!;
    if (m === -1 || m === c) return;
    const given = c === -1 ? '-1 (dynamic)' : String(c);
    throw invalid(`${where}[${i}] is ${given} but the model fixes that dimension at ${m}`);
  });
}
