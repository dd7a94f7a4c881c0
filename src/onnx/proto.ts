import protobuf from 'protobufjs';
import type { DataType } from '../core/datatype.js';

/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto, proto2) that shoal needs to write
 * models; sequences, maps, sparse tensors, subgraphs and training info are left out.
 * Field names follow ONNX so the schema can be checked against onnx.proto by eye, and the
 * numbers must match it exactly: they are all that reaches the wire.
 */

const field = (id: number, type: string, rule?: 'repeated', options?: Record<string, unknown>) =>
  ({ id, type, ...(rule ? { rule } : {}), ...(options ? { options } : {}) });

// ONNX declares its typed tensor data lists packed (and nothing else); proto2 readers accept either.
const packed = { packed: true };

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: field(1, 'int64'),
            producer_name: field(2, 'string'),
            producer_version: field(3, 'string'),
            domain: field(4, 'string'),
            model_version: field(5, 'int64'),
            doc_string: field(6, 'string'),
            graph: field(7, 'GraphProto'),
            opset_import: field(8, 'OperatorSetIdProto', 'repeated'),
            metadata_props: field(14, 'StringStringEntryProto', 'repeated'),
          },
        },
        OperatorSetIdProto: {
          fields: { domain: field(1, 'string'), version: field(2, 'int64') },
        },
        StringStringEntryProto: {
          fields: { key: field(1, 'string'), value: field(2, 'string') },
        },
        GraphProto: {
          fields: {
            node: field(1, 'NodeProto', 'repeated'),
            name: field(2, 'string'),
            initializer: field(5, 'TensorProto', 'repeated'),
            doc_string: field(10, 'string'),
            input: field(11, 'ValueInfoProto', 'repeated'),
            output: field(12, 'ValueInfoProto', 'repeated'),
            value_info: field(13, 'ValueInfoProto', 'repeated'),
          },
        },
        NodeProto: {
          fields: {
            input: field(1, 'string', 'repeated'),
            output: field(2, 'string', 'repeated'),
            name: field(3, 'string'),
            op_type: field(4, 'string'),
            attribute: field(5, 'AttributeProto', 'repeated'),
            doc_string: field(6, 'string'),
            domain: field(7, 'string'),
          },
        },
        AttributeProto: {
          fields: {
            name: field(1, 'string'),
            f: field(2, 'float'),
            i: field(3, 'int64'),
            s: field(4, 'bytes'),
            t: field(5, 'TensorProto'),
            floats: field(7, 'float', 'repeated'),
            ints: field(8, 'int64', 'repeated'),
            strings: field(9, 'bytes', 'repeated'),
            tensors: field(10, 'TensorProto', 'repeated'),
            doc_string: field(13, 'string'),
            type: field(20, 'int32'),
          },
        },
        TensorProto: {
          fields: {
            dims: field(1, 'int64', 'repeated'),
            data_type: field(2, 'int32'),
            float_data: field(4, 'float', 'repeated', packed),
            int32_data: field(5, 'int32', 'repeated', packed),
            string_data: field(6, 'bytes', 'repeated'),
            int64_data: field(7, 'int64', 'repeated', packed),
            name: field(8, 'string'),
            raw_data: field(9, 'bytes'),
            doc_string: field(12, 'string'),
          },
        },
        ValueInfoProto: {
          fields: { name: field(1, 'string'), type: field(2, 'TypeProto'), doc_string: field(3, 'string') },
        },
        TypeProto: {
          // ONNX puts tensor_type in a oneof with sequence/map types we never write.
          fields: { tensor_type: field(1, 'TypeTensor'), denotation: field(6, 'string') },
        },
        // TypeProto.Tensor in onnx.proto; nesting changes nothing on the wire.
        TypeTensor: {
          fields: { elem_type: field(1, 'int32'), shape: field(2, 'TensorShapeProto') },
        },
        TensorShapeProto: {
          fields: { dim: field(1, 'Dimension', 'repeated') },
        },
        // TensorShapeProto.Dimension: dim_value and dim_param form a oneof; set at most one.
        Dimension: {
          fields: { dim_value: field(1, 'int64'), dim_param: field(2, 'string'), denotation: field(3, 'string') },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(SCHEMA);
const ModelProto = root.lookupType('onnx.ModelProto');

/** AttributeProto.AttributeType values. */
export const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** TensorProto.DataType for each KServe datatype. BYTES travels as ONNX's STRING. */
export const ONNX_ELEM_TYPE: Record<DataType, number> = {
  FP32: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BYTES: 8,
  BOOL: 9, FP16: 10, FP64: 11, UINT32: 12, UINT64: 13,
};

// Plain-object shapes of the messages above, as protobufjs encodes them.
// int64 fields take JS numbers: every int64 we write (dims, attribute ints) is far below 2^53.

export interface TensorMessage {
  name?: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  string_data?: Uint8Array[];
}

export interface AttributeMessage {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMessage;
  floats?: number[];
  ints?: number[];
}

export interface NodeMessage {
  name: string;
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute: AttributeMessage[];
}

export interface DimensionMessage { dim_value?: number; dim_param?: string }

export interface ValueInfoMessage {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: DimensionMessage[] } } };
}

export interface GraphMessage {
  name: string;
  node: NodeMessage[];
  initializer: TensorMessage[];
  input: ValueInfoMessage[];
  output: ValueInfoMessage[];
  doc_string?: string;
}

export interface ModelMessage {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  producer_version?: string;
  doc_string?: string;
  graph: GraphMessage;
  metadata_props?: { key: string; value: string }[];
}

/** The serialized model, ready for a `.onnx` file. */
export function encodeModel(model: ModelMessage): Uint8Array {
  const problem = ModelProto.verify(model);
  if (problem) throw new Error(`invalid ONNX model message: ${problem}`);
  // protobufjs may return a Buffer carved from Node's shared pool; callers get bytes of their own.
  return new Uint8Array(ModelProto.encode(model).finish());
}

/** Decodes a model we wrote, for tests that read initializers back. */
export function decodeModel(bytes: Uint8Array): ModelMessage {
  const message = ModelProto.decode(bytes);
  return ModelProto.toObject(message, { longs: Number, arrays: true }) as ModelMessage;
}
