import { describe, expect, it } from 'vitest';
import type { ModelStatistics } from '../../src/core/service.js';
import { describeSplit, splitBetween } from '../../bench/lib/compute-split.js';

const d = (count: number, ms: number) => ({ count, ns: ms * 1e6 });
function stats(batches: Array<[size: number, count: number, inputMs: number, inferMs: number, outputMs: number]>): ModelStatistics {
  const zero = d(0, 0);
  return {
    name: 'm', version: '1', last_inference: 0, inference_count: 0, execution_count: 0,
    inference_stats: { success: zero, fail: zero, queue: zero, compute_input: zero, compute_infer: zero, compute_output: zero },
    batch_stats: batches.map(([batch_size, n, i, f, o]) => ({ batch_size, compute_input: d(n, i), compute_infer: d(n, f), compute_output: d(n, o) })),
  };
}

describe('a model\'s batches between two readings of its statistics', () => {
  it('shares out the growth of each part over the batches run in between, and their mean rows', () => {
    const before = stats([[4, 10, 10, 40, 5]]);
    const after = stats([[4, 30, 30, 120, 25], [16, 20, 40, 200, 60]]);
    // 40 batches in between: 20 of 4 rows, 20 of 16.
    expect(splitBetween(before, after)).toEqual({ batches: 40, rows: 10, inputMs: 60 / 40, inferMs: 280 / 40, outputMs: 80 / 40 });
    expect(describeSplit(splitBetween(before, after)!)).toMatch(/^40 batches of 10\.0 rows on average, each 1\.50 ms compute_input .* 7\.00 ms compute_infer .* 2\.00 ms compute_output/);
  });

  it('says nothing when no batch ran', () => {
    expect(splitBetween(stats([[1, 3, 1, 2, 1]]), stats([[1, 3, 1, 2, 1]]))).toBeUndefined();
  });
});
