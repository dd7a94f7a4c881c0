/**
 * Ragged batching by padding: the config's `pad` entries, shape keys that let requests of
 * different lengths share a batch, padding on the way in and exact slicing on the way out,
 * and the copies along an axis that both (and the sequence batcher's states) rest on.
 */
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/core/model-config.js';
import type { Tensor } from '../../src/core/tensor.js';
import { completeConfig } from '../../src/repository/autocomplete.js';
import { parseModelConfig } from '../../src/repository/config.js';
import { renderTritonConfig } from '../../src/repository/render.js';
import {
  type Padding, concatAlong, concatBatch, padAlong, paddedLengths, shapeKey, sliceAlong, splitBatch,
} from '../../src/scheduling/batch.js';
import { paddingOf } from '../../src/scheduling/ragged.js';

const ids = (rows: number[][]): Tensor => ({
  name: 'ids', datatype: 'INT64', shape: [rows.length, rows[0]!.length], data: BigInt64Array.from(rows.flat(), BigInt),
});
const mask = (rows: number[][]): Tensor => ({ ...ids(rows), name: 'mask' });

const PADDING: Padding = {
  inputs: new Map([['ids', { axis: 1, name: 'seq', value: 0 }], ['mask', { axis: 1, name: 'seq', value: 0 }]]),
  outputs: new Map([['hidden', { axis: 1, name: 'seq' }]]),
};

describe('copies along an axis', () => {
  const t: Tensor = { name: 't', datatype: 'FP32', shape: [2, 3, 2], data: Float32Array.from({ length: 12 }, (_, i) => i) };

  it('pads with a value and slices back to the same tensor', () => {
    const padded = padAlong(t, 1, 5, -1);
    expect(padded.shape).toEqual([2, 5, 2]);
    expect([...(padded.data as Float32Array)]).toEqual([0, 1, 2, 3, 4, 5, -1, -1, -1, -1, 6, 7, 8, 9, 10, 11, -1, -1, -1, -1]);
    const back = sliceAlong(padded, 1, 0, 3);
    expect(back.shape).toEqual([2, 3, 2]);
    expect([...(back.data as Float32Array)]).toEqual([...(t.data as Float32Array)]);
    expect(padAlong(t, 1, 3, 0)).toBe(t);
  });

  it('joins along an inner axis and cuts each part out again', () => {
    const u: Tensor = { ...t, shape: [2, 1, 2], data: Float32Array.of(100, 101, 102, 103) };
    const joined = concatAlong([t, u], 1);
    expect(joined.shape).toEqual([2, 4, 2]);
    expect([...(joined.data as Float32Array)]).toEqual([0, 1, 2, 3, 4, 5, 100, 101, 6, 7, 8, 9, 10, 11, 102, 103]);
    expect([...(sliceAlong(joined, 1, 3, 1).data as Float32Array)]).toEqual([100, 101, 102, 103]);
  });

  it('pads 64-bit integers with a bigint', () => {
    expect([...(padAlong(ids([[1, 2]]), 1, 4, 7).data as BigInt64Array)]).toEqual([1n, 2n, 7n, 7n]);
  });
});

describe('padded batches', () => {
  it('gives requests that differ only along a padded dimension the same shape key', () => {
    const short = [ids([[1, 2]]), mask([[1, 1]])];
    const long = [ids([[1, 2, 3, 4]]), mask([[1, 1, 1, 1]])];
    expect(shapeKey(short, true, PADDING)).toBe(shapeKey(long, true, PADDING));
    expect(shapeKey(short, true)).not.toBe(shapeKey(long, true));
    const other: Padding = { inputs: new Map([['ids', { axis: 1, name: 'seq', value: 0 }]]), outputs: new Map() };
    // Only ids may differ: the mask's length still tells the requests apart.
    expect(shapeKey(short, true, other)).not.toBe(shapeKey(long, true, other));
  });

  it('refuses inputs that disagree on a shared padded dimension, naming both', () => {
    expect(() => paddedLengths([ids([[1, 2, 3]]), mask([[1, 1]])], PADDING)).toThrow("inputs 'ids' and 'mask' share the padded dimension 'seq' but have lengths 3 and 2");
  });

  it('pads each request to the longest in the batch and cuts every answer back to its own length', () => {
    const a = [ids([[1, 2]]), mask([[1, 1]])];
    const b = [ids([[3, 4, 5, 6], [7, 8, 9, 10]]), mask([[1, 1, 1, 1], [1, 1, 1, 0]])];
    const batch = concatBatch([a, b], PADDING);
    expect(batch[0]!.shape).toEqual([3, 4]);
    expect([...(batch[0]!.data as BigInt64Array)].map(Number)).toEqual([1, 2, 0, 0, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([...(batch[1]!.data as BigInt64Array)].map(Number)).toEqual([1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0]);

    // An output per token, [rows, seq, 2]: row r, token s holds (r·10 + s, -(r·10 + s)); `pooled` is per row, unpadded.
    const hidden: Tensor = { name: 'hidden', datatype: 'FP32', shape: [3, 4, 2], data: Float32Array.from({ length: 24 }, (_, i) => (Math.floor(i / 8) * 10 + Math.floor(i / 2) % 4) * (i % 2 ? -1 : 1)) };
    const pooled: Tensor = { name: 'pooled', datatype: 'FP32', shape: [3, 1], data: Float32Array.of(0, 1, 2) };
    const [ra, rb] = splitBatch([hidden, pooled], [1, 2], PADDING, [a, b].map((r) => paddedLengths(r, PADDING)));
    expect(ra![0]!.shape).toEqual([1, 2, 2]);
    expect([...(ra![0]!.data as Float32Array)]).toEqual([0, -0, 1, -1]);
    expect(rb![0]!.shape).toEqual([2, 4, 2]);
    expect([...(rb![0]!.data as Float32Array)]).toEqual([10, -10, 11, -11, 12, -12, 13, -13, 20, -20, 21, -21, 22, -22, 23, -23]);
    expect([...(rb![1]!.data as Float32Array)]).toEqual([1, 2]);
  });
});

describe('pad in the config', () => {
  const MODEL = {
    inputs: [{ name: 'ids', datatype: 'INT64' as const, dims: [-1, -1] }, { name: 'mask', datatype: 'INT64' as const, dims: [-1, -1] }],
    outputs: [{ name: 'hidden', datatype: 'FP32' as const, dims: [-1, -1, 8] }],
  };
  const CONFIG = `
max_batch_size: 8
input:
  - { name: ids, data_type: TYPE_INT64, dims: [-1], pad: { dim: 0, name: seq } }
  - { name: mask, data_type: TYPE_INT64, dims: [-1], pad: { dim: 0, name: seq, value: 0 } }
output: [{ name: hidden, data_type: TYPE_FP32, dims: [-1, 8], pad: { dim: 0, name: seq } }]
`;
  const load = (text: string): ModelConfig => completeConfig(parseModelConfig(text, 'm/config.yaml', 'm'), MODEL, 'm/config.yaml');

  it('becomes axes of the model\'s full shape, and renders back as written', () => {
    const config = load(CONFIG);
    const padding = paddingOf(config)!;
    expect(padding.inputs.get('ids')).toEqual({ axis: 1, name: 'seq', value: 0 });
    expect(padding.outputs.get('hidden')).toEqual({ axis: 1, name: 'seq' });
    expect(load(JSON.stringify(renderTritonConfig(config)))).toEqual(config);
    expect(paddingOf(load('max_batch_size: 8'))).toBeUndefined();
  });

  it.each([
    ['dims: [-1], pad: { dim: 1, name: seq }', 'input[0].pad: dim 1 is beyond dims [-1]'],
    ['dims: [4], pad: { dim: 0, name: seq }', 'input[0].pad: dims[0] is 4; only a dynamic (-1) dimension can be padded'],
    ['pad: { dim: 0, name: seq }', 'input[0].pad: needs dims'],
  ])('refuses %s', (entry, message) => {
    expect(() => load(`max_batch_size: 8\ninput: [{ name: ids, ${entry} }]`)).toThrow(message);
  });

  it('refuses at load an output that follows no padded input, and padding without batching', () => {
    expect(() => paddingOf(load(CONFIG.replace('pad: { dim: 0, name: seq } }]', 'pad: { dim: 0, name: tokens } }]')))).toThrow("no input pads a dimension named 'tokens'");
    expect(() => paddingOf(load(CONFIG.replace('max_batch_size: 8', 'max_batch_size: 0').replace(/-1, 8/, '-1, -1, 8').replaceAll('dims: [-1]', 'dims: [-1, -1]').replaceAll('dim: 0', 'dim: 1')))).toThrow('needs max_batch_size > 0');
    expect(() => paddingOf(load(CONFIG.replace('name: seq, value: 0', 'name: seq, value: 0.5')))).toThrow('value 0.5 is not a INT64');
  });
});
