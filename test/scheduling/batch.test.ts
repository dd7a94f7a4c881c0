import { describe, expect, it } from 'vitest';
import { concatBatch, shapeKey, splitBatch } from '../../src/scheduling/batch.js';
import type { Tensor } from '../../src/core/tensor.js';

const enc = new TextEncoder();

describe('concatBatch and splitBatch', () => {
  it('joins requests along the batch dimension and cuts the answers back exactly', () => {
    const a: Tensor[] = [
      { name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) },
      { name: 's', datatype: 'BYTES', shape: [1, 1], data: [enc.encode('a')] },
    ];
    const b: Tensor[] = [
      { name: 'x', datatype: 'FP32', shape: [2, 2], data: new Float32Array([3, 4, 5, 6]) },
      { name: 's', datatype: 'BYTES', shape: [2, 1], data: [enc.encode('b'), enc.encode('c')] },
    ];
    const joined = concatBatch([a, b]);
    expect(joined[0]!.shape).toEqual([3, 2]);
    expect([...(joined[0]!.data as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(joined[1]!.shape).toEqual([3, 1]);
    const [ra, rb] = splitBatch(joined, [1, 2]);
    expect(ra![0]!.shape).toEqual([1, 2]);
    expect([...(ra![0]!.data as Float32Array)]).toEqual([1, 2]);
    expect([...(rb![0]!.data as Float32Array)]).toEqual([3, 4, 5, 6]);
    expect((rb![1]!.data as Uint8Array[]).map((x) => new TextDecoder().decode(x))).toEqual(['b', 'c']);
  });

  it('keys equal only for the same names, datatypes and non-batch dims', () => {
    const t = (shape: number[], datatype: Tensor['datatype'] = 'FP32'): Tensor[] => [{ name: 'x', datatype, shape, data: new Float32Array(0) }];
    expect(shapeKey(t([1, 4]), true)).toBe(shapeKey(t([3, 4]), true));
    expect(shapeKey(t([1, 4]), true)).not.toBe(shapeKey(t([1, 5]), true));
    expect(shapeKey(t([1, 4]), false)).not.toBe(shapeKey(t([3, 4]), false));
    expect(shapeKey(t([1, 4]), true)).not.toBe(shapeKey(t([1, 4], 'FP64'), true));
  });
});
