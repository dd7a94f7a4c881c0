import { describe, expect, it } from 'vitest';
import { type BatchingConfig, type PendingRequest, schedule } from '../../src/scheduling/policy.js';

const req = (seq: number, arrival: number, batchSize = 1, shapeKey = 'a'): PendingRequest => ({ seq, arrival, batchSize, shapeKey });

describe('schedule without dynamic batching', () => {
  const config: BatchingConfig = { maxBatchSize: 8 };

  it('runs the oldest requests alone, one per idle instance', () => {
    const plan = schedule({ pending: [req(1, 0), req(2, 1), req(3, 2)], idleInstances: [0, 1] }, config, 5);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [1] }, { instance: 1, seqs: [2] }]);
    expect(plan.wakeAt).toBeUndefined();
  });

  it('dispatches nothing when every instance is busy', () => {
    expect(schedule({ pending: [req(1, 0)], idleInstances: [] }, config, 5).dispatch).toEqual([]);
  });
});

describe('schedule with dynamic batching', () => {
  const config: BatchingConfig = { maxBatchSize: 8, dynamic: { preferredBatchSizes: [4], maxQueueDelayMs: 10 } };

  it('waits for the queue delay while a batch is neither full nor preferred, and says when to ask again', () => {
    const plan = schedule({ pending: [req(1, 100), req(2, 103)], idleInstances: [0] }, config, 105);
    expect(plan.dispatch).toEqual([]);
    expect(plan.wakeAt).toBe(110);
  });

  it('dispatches what it has once the oldest request has waited the queue delay', () => {
    const plan = schedule({ pending: [req(1, 100), req(2, 103)], idleInstances: [0] }, config, 110);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [1, 2] }]);
  });

  it('dispatches at once on reaching a preferred batch size', () => {
    const pending = [req(1, 100), req(2, 101), req(3, 102), req(4, 103)];
    expect(schedule({ pending, idleInstances: [0] }, config, 103).dispatch).toEqual([{ instance: 0, seqs: [1, 2, 3, 4] }]);
  });

  it('counts rows, not requests, against max_batch_size', () => {
    const pending = [req(1, 0, 5), req(2, 0, 2), req(3, 0, 3), req(4, 0, 1)];
    // 5 + 2 = 7; the 3-row request would overflow 8, so the batch is full.
    expect(schedule({ pending, idleInstances: [0] }, config, 0).dispatch).toEqual([{ instance: 0, seqs: [1, 2] }]);
  });

  it('never joins requests whose shapes differ', () => {
    const pending = [req(1, 0, 1, 'x'), req(2, 0, 1, 'y'), req(3, 0, 1, 'x')];
    const plan = schedule({ pending, idleInstances: [0, 1] }, config, 20);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [1, 3] }, { instance: 1, seqs: [2] }]);
  });

  it('with a zero queue delay, runs whatever is queued immediately', () => {
    const zero: BatchingConfig = { maxBatchSize: 8, dynamic: { preferredBatchSizes: [], maxQueueDelayMs: 0 } };
    expect(schedule({ pending: [req(1, 50), req(2, 50)], idleInstances: [0] }, zero, 50).dispatch).toEqual([{ instance: 0, seqs: [1, 2] }]);
  });
});
