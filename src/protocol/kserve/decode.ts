/**
 * KServe v2 inference request (JSON, optionally followed by binary tensor data) → core InferRequest.
 *
 * Checks everything that can be checked without knowing the model: structure, names,
 * datatypes, shapes, sizes and every data value. Whether the inputs fit the model is the
 * service's business. Errors are ShoalError 'invalid_argument' ('too_large' for size limits)
 * with a message that names the input at fault.
 */
import { DATATYPES, isDataType } from '../../core/datatype.js';
import { ShoalError, invalid } from '../../core/errors.js';
import type { InferRequest, Parameters, RequestedOutput } from '../../core/request.js';
import type { Tensor } from '../../core/tensor.js';
import { JsonSyntaxError, describe, parseJsonExact } from './json.js';
import type { Limits } from './limits.js';
import { NEEDS_EXACT_INTEGERS, tensorFromBinary, tensorFromJson } from './tensor-data.js';

export type { Limits } from './limits.js';

export interface DecodeContext {
  model: string;
  version?: string;
  arrivalTime: number;
  traceId: string;
}

// No real model comes near this; it keeps nested-data checks from recursing without bound.
const MAX_RANK = 64;

/**
 * @param headerLength the Inference-Header-Content-Length header: the JSON is body[0, headerLength)
 *   and binary tensor data follows. Undefined: the whole body is JSON.
 */
export function decodeInferRequest(
  body: Buffer, headerLength: number | undefined, limits: Limits, ctx: DecodeContext,
): InferRequest {
  const jsonEnd = checkHeaderLength(headerLength, body.length);
  const text = body.toString('utf8', 0, jsonEnd);
  try {
    return build(parseJson(text), body, headerLength, limits, ctx, false);
  } catch (e) {
    if (e !== NEEDS_EXACT_INTEGERS) throw e;
  }
  // A 64-bit integer beyond 2^53 was rounded by JSON.parse: read the text again, exactly.
  let exactRoot: unknown;
  try {
    exactRoot = parseJsonExact(text);
  } catch (e) {
    // Only nesting deeper than JSON.parse minds can land here.
    if (e instanceof JsonSyntaxError) throw invalid(`malformed JSON in request: ${e.message}`);
    throw e;
  }
  return build(exactRoot, body, headerLength, limits, ctx, true);
}

function checkHeaderLength(headerLength: number | undefined, bodyLength: number): number {
  if (headerLength === undefined) return bodyLength;
  if (!Number.isSafeInteger(headerLength) || headerLength < 0) {
    throw invalid(`Inference-Header-Content-Length must be a non-negative integer, got ${describe(headerLength)}`);
  }
  if (headerLength > bodyLength) {
    throw invalid(`Inference-Header-Content-Length is ${headerLength} but the body has only ${bodyLength} bytes`);
  }
  return headerLength;
}

function parseJson(text: string): unknown {
  if (text.length === 0) throw invalid('the request body is empty; expected a JSON inference request');
  try {
    return JSON.parse(text);
  } catch (e) {
    // JSON.parse's messages are uneven about where; the exact parser always knows.
    try {
      parseJsonExact(text);
    } catch (located) {
      if (located instanceof JsonSyntaxError) throw invalid(`malformed JSON in request: ${located.message}`);
    }
    throw invalid(`malformed JSON in request: ${(e as Error).message.slice(0, 200)}`);
  }
}

function build(
  root: unknown, body: Buffer, headerLength: number | undefined, limits: Limits, ctx: DecodeContext, exact: boolean,
): InferRequest {
  if (!isObject(root)) throw invalid(`the request must be a JSON object, got ${describe(root)}`);
  const { id, inputs, outputs } = root;
  if (id !== undefined && typeof id !== 'string') throw invalid(`request id must be a string, got ${describe(id)}`);
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw invalid(`request 'inputs' must be a non-empty array, got ${describe(inputs)}`);
  }

  const names = new Set<string>();
  const tensors: Tensor[] = [];
  let binaryOffset = headerLength ?? body.length;
  let total = 0;
  for (let k = 0; k < inputs.length; k++) {
    const wire: unknown = inputs[k];
    if (!isObject(wire)) throw invalid(`inputs[${k}] must be an object, got ${describe(wire)}`);
    const name = wire.name;
    if (typeof name !== 'string' || name.length === 0) {
      throw invalid(`inputs[${k}].name must be a non-empty string, got ${describe(name)}`);
    }
    if (names.has(name)) throw invalid(`input '${name}' appears more than once`);
    names.add(name);

    const datatype = wire.datatype;
    if (!isDataType(datatype)) {
      throw invalid(`input '${name}': unknown datatype ${describe(datatype)}; expected one of ${DATATYPES.join(', ')}`);
    }
    const shape = checkShape(name, wire.shape);
    const count = elementCount(name, shape, limits);
    total += count;
    if (total > limits.maxElementsPerRequest) {
      throw new ShoalError('too_large', `input '${name}' brings the request to ${total} elements; `
        + `at most ${limits.maxElementsPerRequest} are allowed per request`);
    }

    const params = checkParameters(wire.parameters, `input '${name}' parameters`);
    const binarySize = params.binary_data_size;
    let tensor: Tensor;
    if (binarySize !== undefined) {
      if (wire.data !== undefined) throw invalid(`input '${name}' has both data and parameters.binary_data_size`);
      if (headerLength === undefined) {
        throw invalid(`input '${name}' has binary_data_size but the request has no Inference-Header-Content-Length header`);
      }
      if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        throw invalid(`input '${name}': binary_data_size must be a non-negative integer, got ${describe(binarySize)}`);
      }
      const left = body.length - binaryOffset;
      if (binarySize > left) {
        throw invalid(`input '${name}': binary_data_size ${binarySize} overruns the body, which has ${left} bytes of binary data left`);
      }
      const bytes = body.subarray(binaryOffset, binaryOffset + binarySize);
      binaryOffset += binarySize;
      tensor = { name, datatype, shape, data: tensorFromBinary(name, datatype, count, bytes) };
    } else {
      if (wire.data === undefined) throw invalid(`input '${name}' has no data (neither 'data' nor parameters.binary_data_size)`);
      tensor = { name, datatype, shape, data: tensorFromJson(name, datatype, shape, count, wire.data, exact) };
    }
    tensors.push(tensor);
  }
  if (binaryOffset !== body.length) {
    throw invalid(`${body.length - binaryOffset} bytes of binary data are left over after the last binary input`);
  }

  const request: InferRequest = {
    model: ctx.model,
    inputs: tensors,
    parameters: checkParameters(root.parameters, 'request parameters'),
    arrivalTime: ctx.arrivalTime,
    traceId: ctx.traceId,
  };
  if (ctx.version !== undefined) request.version = ctx.version;
  if (id !== undefined) request.id = id;
  if (outputs !== undefined) request.outputs = checkOutputs(outputs);
  return request;
}

function checkShape(input: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw invalid(`input '${input}': shape must be an array of integers, got ${describe(shape)}`);
  if (shape.length > MAX_RANK) throw invalid(`input '${input}': shape has ${shape.length} dimensions; at most ${MAX_RANK} are supported`);
  for (let k = 0; k < shape.length; k++) {
    const d: unknown = shape[k];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw invalid(`input '${input}': shape[${k}] must be a non-negative integer, got ${describe(d)}`);
    }
  }
  return shape as number[];
}

function elementCount(input: string, shape: readonly number[], limits: Limits): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    // Checked at every step so the product cannot pass 2^53 and turn inexact unnoticed.
    if (n > limits.maxElementsPerTensor || n > Number.MAX_SAFE_INTEGER) {
      throw new ShoalError('too_large', `input '${input}': shape [${shape.join(',')}] has more than `
        + `${limits.maxElementsPerTensor} elements, the most one tensor may have`);
    }
  }
  return n;
}

function checkParameters(params: unknown, what: string): Parameters {
  if (params === undefined) return {};
  if (!isObject(params)) throw invalid(`${what} must be an object, got ${describe(params)}`);
  const out: Parameters = {};
  for (const [key, v] of Object.entries(params)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else if (typeof v === 'bigint') out[key] = Number(v);
    else throw invalid(`${what}: '${key}' must be a string, number or boolean, got ${describe(v)}`);
  }
  return out;
}

function checkOutputs(outputs: unknown): RequestedOutput[] {
  if (!Array.isArray(outputs)) throw invalid(`request 'outputs' must be an array, got ${describe(outputs)}`);
  const seen = new Set<string>();
  return outputs.map((o: unknown, k): RequestedOutput => {
    if (!isObject(o)) throw invalid(`outputs[${k}] must be an object, got ${describe(o)}`);
    const name = o.name;
    if (typeof name !== 'string' || name.length === 0) {
      throw invalid(`outputs[${k}].name must be a non-empty string, got ${describe(name)}`);
    }
    if (seen.has(name)) throw invalid(`output '${name}' is requested more than once`);
    seen.add(name);
    if (o.parameters === undefined) return { name };
    return { name, parameters: checkParameters(o.parameters, `output '${name}' parameters`) };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
