import type { Clock } from '../core/clock.js';
import { allocate, numberToHalf } from '../core/datatype.js';
import { invalid } from '../core/errors.js';
import type { ModelConfig, SequenceBatching } from '../core/model-config.js';
import { type Tensor, type TensorSpec, elementCount } from '../core/tensor.js';
import type { ComputeSplit } from './compute-split.js';
import type { BatchRunner } from './model-scheduler.js';
import { SequenceScheduler, type StateSpec } from './sequence-scheduler.js';

/**
 * A config's sequence_batching as the SequenceScheduler takes it, and the split of a model's
 * tensors into those clients send and receive and those the server holds (state) or feeds
 * (constant_input). This is the only sequence code that knows the config's field names.
 */

interface ModelTensors {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * The model's inputs and outputs less the ones sequence_batching holds or feeds, for
 * auto-complete to build the client-facing config from; checks those against the model.
 * `file` prefixes errors. A model without sequence_batching gets its tensors back unchanged.
 */
export function clientTensors(
  config: { sequence_batching?: SequenceBatching; input: ReadonlyArray<{ name: string }>; output: ReadonlyArray<{ name: string }> },
  model: ModelTensors, file: string,
): ModelTensors {
  const seq = config.sequence_batching;
  if (!seq) return model;
  const fail = (path: string, msg: string) => invalid(`${file}: sequence_batching.${path}: ${msg}`);
  const heldInputs = new Set<string>();
  const heldOutputs = new Set<string>();
  const claim = (set: Set<string>, name: string, path: string) => {
    if (set.has(name)) throw fail(path, `'${name}' is named twice`);
    set.add(name);
  };
  const find = (list: TensorSpec[], name: string, kind: string, path: string) => {
    const t = list.find((x) => x.name === name);
    if (!t) throw fail(path, `'${name}' is not an ${kind} of the model (the model's ${kind}s: ${list.map((x) => `'${x.name}'`).join(', ')})`);
    return t;
  };
  seq.state.forEach((s, k) => {
    const fits = (spec: TensorSpec, path: string) => {
      if (spec.datatype !== s.data_type) throw fail(path, `data_type ${s.data_type} does not match the model's ${spec.datatype} for '${spec.name}'`);
      const full = withBatchAxis(s.dims, s.batch_axis, -1);
      const ok = spec.dims.length === full.length && spec.dims.every((d, a) => d === -1 || (a !== s.batch_axis && d === full[a]));
      if (!ok) {
        throw fail(path, `dims [${s.dims.join(', ')}] with the batch dimension at axis ${s.batch_axis} make [${full.join(', ')}], `
          + `which the model's '${spec.name}' [${spec.dims.join(', ')}] does not fit (its batch axis must be dynamic)`);
      }
    };
    claim(heldInputs, s.input_name, `state[${k}].input_name`);
    claim(heldOutputs, s.output_name, `state[${k}].output_name`);
    fits(find(model.inputs, s.input_name, 'input', `state[${k}].input_name`), `state[${k}]`);
    fits(find(model.outputs, s.output_name, 'output', `state[${k}].output_name`), `state[${k}]`);
  });
  seq.constant_input.forEach((c, k) => {
    const path = `constant_input[${k}]`;
    claim(heldInputs, c.name, `${path}.name`);
    const spec = find(model.inputs, c.name, 'input', `${path}.name`);
    if (spec.datatype !== c.data_type) throw fail(path, `data_type ${c.data_type} does not match the model's ${spec.datatype}`);
    if (spec.dims.length !== c.dims.length || spec.dims.some((d, a) => d !== -1 && d !== c.dims[a])) {
      throw fail(path, `dims [${c.dims.join(', ')}] do not fit the model's [${spec.dims.join(', ')}] for '${c.name}'`);
    }
  });
  for (const [list, held] of [['input', heldInputs], ['output', heldOutputs]] as const) {
    for (const t of config[list]) {
      if (held.has(t.name)) throw invalid(`${file}: ${list} '${t.name}' is held or fed by the server (sequence_batching); leave it out of ${list}`);
    }
  }
  return { inputs: model.inputs.filter((t) => !heldInputs.has(t.name)), outputs: model.outputs.filter((t) => !heldOutputs.has(t.name)) };
}

export interface SequenceSchedulerContext {
  clock: Clock;
  maxQueueSize: number;
  onBatch?: (rows: number, compute: ComputeSplit) => void;
}

/** The scheduler of a model version with sequence_batching. */
export function sequenceSchedulerOf(config: ModelConfig, runners: readonly BatchRunner[], ctx: SequenceSchedulerContext): SequenceScheduler {
  const seq = config.sequence_batching!;
  const states: StateSpec[] = seq.state.map((s) => {
    if (s.data_type === 'BYTES') throw invalid(`model '${config.name}': sequence_batching.state '${s.input_name}' must be numeric`);
    return { input: s.input_name, output: s.output_name, datatype: s.data_type, shape: withBatchAxis(s.dims, s.batch_axis, 1), batchAxis: s.batch_axis };
  });
  return new SequenceScheduler(runners, {
    outputNames: [...config.output.map((o) => o.name), ...states.map((s) => s.output)],
    batching: {
      maxBatchSize: config.max_batch_size,
      dynamic: { preferredBatchSizes: seq.oldest.preferred_batch_size, maxQueueDelayMs: seq.oldest.max_queue_delay_microseconds / 1000 },
    },
    states,
    constants: seq.constant_input.map(constantTensor),
    limits: { maxSequences: seq.oldest.max_candidate_sequences, idleMs: seq.max_sequence_idle_microseconds / 1000 },
    maxQueueSize: ctx.maxQueueSize,
    clock: ctx.clock,
    ...(ctx.onBatch && { onBatch: ctx.onBatch }),
  });
}

/**
 * The inputs the server itself feeds a sequence model for one fresh sequence: every state at its
 * initial zeros (batch 1 along its batch axis) and the constant inputs. For warm-up, which runs
 * the session directly and must give it what a first request of a sequence would get.
 */
export function serverInputs(config: ModelConfig): Tensor[] {
  const seq = config.sequence_batching;
  if (!seq) return [];
  const states: Tensor[] = [];
  for (const st of seq.state) {
    // sequenceSchedulerOf refuses BYTES states when the version loads; there is nothing to warm.
    if (st.data_type === 'BYTES') continue;
    const shape = withBatchAxis(st.dims, st.batch_axis, 1);
    states.push({ name: st.input_name, datatype: st.data_type, shape, data: allocate(st.data_type, elementCount(shape)) });
  }
  return [...states, ...seq.constant_input.map(constantTensor)];
}

function withBatchAxis(dims: readonly number[], axis: number, size: number): number[] {
  return [...dims.slice(0, axis), size, ...dims.slice(axis)];
}

function constantTensor(c: SequenceBatching['constant_input'][number]): Tensor {
  if (c.data_type === 'BYTES') throw new Error('constant_input must be numeric');
  const data = allocate(c.data_type, elementCount(c.dims));
  const big = data instanceof BigInt64Array || data instanceof BigUint64Array;
  c.value.forEach((v, i) => (data[i] = (big ? BigInt(v) : c.data_type === 'FP16' ? numberToHalf(v) : v) as never));
  return { name: c.name, datatype: c.data_type, shape: [...c.dims], data };
}
