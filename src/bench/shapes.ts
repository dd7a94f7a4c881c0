/**
 * From a model's KServe metadata to the concrete shape of each input a request will carry.
 * Metadata marks variable dimensions -1 and does not say which is the batch; Triton and shoal
 * say it through the model config's max_batch_size, so that is used when the server has one.
 */
import { isDataType, type DataType } from '../core/datatype.js';

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform?: string;
  inputs: TensorMetadata[];
  outputs?: TensorMetadata[];
}

export interface InputSpec {
  name: string;
  datatype: DataType;
  shape: number[];
}

export interface ShapeOptions {
  /** Size of the batch dimension, where the model has one. */
  batch: number;
  /** Size for every other dimension the metadata leaves -1. */
  dim?: number;
  /** Full shapes as sent (batch included), by input name; these win over everything. */
  shapes: Record<string, number[]>;
  /** From the model config: > 0 means the first dimension is the batch; undefined when the server has no config endpoint. */
  maxBatchSize?: number;
}

/** Throws with a message that names the flag to pass when a dimension cannot be decided. */
export function concreteShapes(meta: ModelMetadata, opts: ShapeOptions): InputSpec[] {
  if (!Array.isArray(meta.inputs) || meta.inputs.length === 0) throw new Error(`model '${meta.name}': metadata lists no inputs`);
  const known = new Set(meta.inputs.map((t) => t.name));
  for (const name of Object.keys(opts.shapes)) {
    if (!known.has(name)) throw new Error(`--shape ${name}=…: model '${meta.name}' has no input '${name}' (inputs: ${[...known].join(', ')})`);
  }
  return meta.inputs.map((t) => {
    if (!isDataType(t.datatype)) throw new Error(`model '${meta.name}' input '${t.name}': unknown datatype '${t.datatype}'`);
    const given = opts.shapes[t.name];
    if (given) return { name: t.name, datatype: t.datatype, shape: checkGiven(meta.name, t, given) };
    // Without a config, a leading -1 is taken as the batch, as most batching servers lay inputs out.
    const batched = opts.maxBatchSize === undefined ? t.shape[0] === -1 : opts.maxBatchSize > 0;
    if (batched && opts.maxBatchSize !== undefined && opts.batch > opts.maxBatchSize) {
      throw new Error(`--batch ${opts.batch} exceeds model '${meta.name}' max_batch_size ${opts.maxBatchSize}`);
    }
    const shape = t.shape.map((d, i) => {
      if (d >= 0) return d;
      if (i === 0 && batched) return opts.batch;
      if (opts.dim !== undefined) return opts.dim;
      throw new Error(
        `model '${meta.name}' input '${t.name}' has shape [${t.shape.join(', ')}] with a variable dimension; ` +
          `pass --dim N for every variable dimension or --shape ${t.name}=${t.shape.map((x, j) => (j === 0 && batched ? opts.batch : x < 0 ? 'N' : x)).join(',')}`,
      );
    });
    return { name: t.name, datatype: t.datatype, shape };
  });
}

function checkGiven(model: string, t: TensorMetadata, given: number[]): number[] {
  const fits = given.length === t.shape.length && given.every((d, i) => t.shape[i] === -1 || t.shape[i] === d);
  if (!fits) throw new Error(`--shape ${t.name}=${given.join(',')} does not fit model '${model}' input '${t.name}' of shape [${t.shape.join(', ')}] (give the full shape, batch included)`);
  return given;
}

/** "input=1,16" → ["input", [1, 16]]. */
export function parseShapeFlag(value: string): [string, number[]] {
  const eq = value.lastIndexOf('=');
  const name = value.slice(0, eq);
  const dims = value.slice(eq + 1).split(',').map((d) => Number(d.trim()));
  if (eq <= 0 || dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`--shape '${value}': expected NAME=D1,D2,… with whole numbers`);
  }
  return [name, dims];
}
