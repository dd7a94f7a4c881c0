import { byteSize, numberToHalf, type DataType, type TensorData } from '../core/datatype.js';
import { elementCount } from '../core/tensor.js';
import {
  ATTRIBUTE_TYPE, ONNX_ELEM_TYPE, encodeModel,
  type AttributeMessage, type DimensionMessage, type NodeMessage, type TensorMessage, type ValueInfoMessage,
} from './proto.js';

/** ONNX IR version 8 (ONNX 1.10+): old enough for every onnxruntime shoal supports. */
export const IR_VERSION = 8;
/** Default-domain opset; 17 is the first with LayerNormalization. */
export const OPSET = 17;

/** A dimension of a graph input or output: a size, a symbolic name, or -1 for unknown and unnamed. */
export type Dim = number | string;

/**
 * Tensor contents. Typed arrays are taken as they are laid out in memory (FP16: a Uint16Array of
 * half bits, BOOL: a Uint8Array of 0/1). Plain number arrays are values, converted to the datatype;
 * strings and byte strings are for BYTES.
 */
export type TensorValues = TensorData | readonly number[] | readonly string[];

export interface TensorValue {
  datatype: DataType;
  dims: number[];
  data: TensorValues;
}

export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorValue };

/**
 * Attribute constructors. ONNX types every attribute and a JS number cannot say whether
 * it is an int or a float (1.0 === 1), so the caller says.
 */
export const attr = {
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  ints: (value: number[]): AttributeValue => ({ kind: 'ints', value }),
  floats: (value: number[]): AttributeValue => ({ kind: 'floats', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  tensor: (datatype: DataType, dims: number[], data: TensorValues): AttributeValue =>
    ({ kind: 'tensor', value: { datatype, dims, data } }),
};

const utf8 = new TextEncoder();

/** Builds one ONNX graph node by node, then serializes it as a model. */
export class ModelBuilder {
  private readonly inputs: ValueInfoMessage[] = [];
  private readonly outputs: ValueInfoMessage[] = [];
  private readonly initializers: TensorMessage[] = [];
  private readonly nodes: NodeMessage[] = [];
  /** Every value name defined so far (inputs, initializers, node outputs), to catch typos early. */
  private readonly defined = new Set<string>();
  private counter = 0;

  constructor(readonly graphName: string, private readonly docString = '') {}

  input(name: string, datatype: DataType, dims: Dim[]): string {
    this.define(name);
    this.inputs.push(valueInfo(name, datatype, dims));
    return name;
  }

  /** Declares a graph output; `name` must be produced by a node. */
  output(name: string, datatype: DataType, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, datatype, dims));
    return name;
  }

  initializer(name: string, datatype: DataType, dims: number[], data: TensorValues): string {
    this.define(name);
    this.initializers.push(tensorMessage({ datatype, dims, data }, name));
    return name;
  }

  /** A node with explicitly named outputs. An empty input name skips an optional input. */
  node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}): void {
    for (const i of inputs) if (i !== '' && !this.defined.has(i)) throw new Error(`${opType}: unknown input '${i}'`);
    for (const o of outputs) this.define(o);
    this.nodes.push({
      name: `${opType}_${this.nodes.length}`,
      op_type: opType,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([name, a]) => attributeMessage(name, a)),
    });
  }

  /** A single-output node; its output is named `output` or a fresh name, and returned for chaining. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.counter++}`;
    this.node(opType, inputs, [out], attributes);
    return out;
  }

  toBytes(): Uint8Array {
    for (const o of this.outputs) {
      if (!this.defined.has(o.name)) throw new Error(`output '${o.name}' is not produced by any node`);
    }
    return encodeModel({
      ir_version: IR_VERSION,
      opset_import: [{ domain: '', version: OPSET }],
      producer_name: 'shoal',
      graph: {
        name: this.graphName,
        doc_string: this.docString,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }

  private define(name: string): void {
    if (!name) throw new Error('value names must not be empty');
    if (this.defined.has(name)) throw new Error(`value '${name}' is defined twice`);
    this.defined.add(name);
  }
}

function valueInfo(name: string, datatype: DataType, dims: Dim[]): ValueInfoMessage {
  const dim = dims.map((d): DimensionMessage => {
    if (typeof d === 'string') return { dim_param: d };
    if (d === -1) return {};
    if (!Number.isInteger(d) || d < 0) throw new Error(`${name}: bad dimension ${d}`);
    return { dim_value: d };
  });
  return { name, type: { tensor_type: { elem_type: ONNX_ELEM_TYPE[datatype], shape: { dim } } } };
}

function attributeMessage(name: string, a: AttributeValue): AttributeMessage {
  switch (a.kind) {
    case 'int': return { name, type: ATTRIBUTE_TYPE.INT, i: a.value };
    case 'float': return { name, type: ATTRIBUTE_TYPE.FLOAT, f: a.value };
    case 'ints': return { name, type: ATTRIBUTE_TYPE.INTS, ints: a.value };
    case 'floats': return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: a.value };
    case 'string': return { name, type: ATTRIBUTE_TYPE.STRING, s: utf8.encode(a.value) };
    case 'tensor': return { name, type: ATTRIBUTE_TYPE.TENSOR, t: tensorMessage(a.value) };
  }
}

/** A TensorProto: numbers as little-endian raw_data (as ONNX requires), strings as string_data. */
export function tensorMessage(t: TensorValue, name?: string): TensorMessage {
  const count = elementCount(t.dims);
  if (t.data.length !== count) {
    throw new Error(`${name ?? 'tensor'}: ${t.data.length} values for dims [${t.dims.join(', ')}]`);
  }
  const base = { ...(name ? { name } : {}), dims: t.dims, data_type: ONNX_ELEM_TYPE[t.datatype] };
  if (t.datatype === 'BYTES') {
    const strings = Array.from(t.data as ArrayLike<unknown>, (s) => {
      if (typeof s === 'string') return utf8.encode(s);
      if (s instanceof Uint8Array) return s.slice();
      throw new Error(`${name ?? 'tensor'}: BYTES values must be strings or Uint8Arrays`);
    });
    return { ...base, string_data: strings };
  }
  const array = toTypedArray(t.datatype, t.data);
  if (array.byteLength !== count * byteSize(t.datatype)) {
    throw new Error(`${name ?? 'tensor'}: a ${array.constructor.name} cannot hold ${t.datatype}`);
  }
  // Typed arrays are little-endian on every platform Node runs on, which is ONNX's raw_data order.
  return { ...base, raw_data: new Uint8Array(array.buffer, array.byteOffset, array.byteLength).slice() };
}

type Numeric = Exclude<DataType, 'BYTES'>;

function toTypedArray(datatype: Numeric, data: TensorValues): ArrayBufferView {
  if (ArrayBuffer.isView(data)) {
    return datatype === 'BOOL' ? Uint8Array.from(data as Uint8Array, (v) => (v ? 1 : 0)) : data;
  }
  const values = data as readonly unknown[];
  if (values.some((v) => typeof v !== 'number')) throw new Error(`${datatype} values must be numbers`);
  const nums = values as readonly number[];
  switch (datatype) {
    case 'BOOL': return Uint8Array.from(nums, (v) => (v ? 1 : 0));
    case 'UINT8': return Uint8Array.from(nums);
    case 'UINT16': return Uint16Array.from(nums);
    case 'UINT32': return Uint32Array.from(nums);
    case 'UINT64': return BigUint64Array.from(nums, (v) => BigInt(v));
    case 'INT8': return Int8Array.from(nums);
    case 'INT16': return Int16Array.from(nums);
    case 'INT32': return Int32Array.from(nums);
    case 'INT64': return BigInt64Array.from(nums, (v) => BigInt(v));
    case 'FP16': return Uint16Array.from(nums, numberToHalf);
    case 'FP32': return Float32Array.from(nums);
    case 'FP64': return Float64Array.from(nums);
  }
}

/**
 * mulberry32: a tiny seeded PRNG (uniform in [0, 1)). Example weights come from it rather than
 * Math.random so that the same seed writes byte-identical model files on every run and machine;
 * it uses only 32-bit integer arithmetic, which JS engines evaluate identically.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A generator for one named stream under `seed`. Each model draws from its own stream, so
 * changing one model's weights leaves every other model's bytes as they were.
 */
export function seededRandom(seed: number, stream: string): () => number {
  let h = 0x811c9dc5; // FNV-1a over the stream name
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
  return mulberry32((seed ^ h) >>> 0);
}

/** `count` values uniform in [-bound, bound). */
export function uniform(random: () => number, count: number, bound: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * bound;
  return out;
}
