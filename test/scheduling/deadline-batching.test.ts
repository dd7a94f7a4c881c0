import { describe, expect, it } from 'vitest';
import { type BatchingConfig, type PendingRequest, schedule } from '../../src/scheduling/policy.js';
import type { LatencyEstimator } from '../../src/scheduling/profile.js';

/** Batch formation with preferred sizes, queue delay, shapes and deadlines, at virtual times. */

const req = (seq: number, arrival: number, more: Partial<PendingRequest> = {}): PendingRequest => ({ seq, arrival, batchSize: 1, shapeKey: 'a', ...more });
const batching = (preferredBatchSizes: number[] = [], maxQueueDelayMs = 100): BatchingConfig => ({ maxBatchSize: 8, dynamic: { preferredBatchSizes, maxQueueDelayMs } });
/** 8 ms fixed cost plus 2 ms a row: 1 row 10 ms, 4 rows 16 ms, 5 rows 18 ms, 8 rows 24 ms. */
const profile: LatencyEstimator = { estimate: (rows) => 8 + 2 * rows };
const seqs = (n: number, more: Partial<PendingRequest> = {}) => Array.from({ length: n }, (_, i) => req(i + 1, i, more));

describe('the largest batch that still meets the earliest deadline in it', () => {
  it('stops growing where the predicted compute would overrun the deadline, and runs at once', () => {
    // Deadline 16 ms away: 4 rows take 16 ms, 5 rows 18 ms.
    const plan = schedule({ pending: seqs(6, { deadline: 26 }), idleInstances: [0] }, batching(), 10, profile);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [1, 2, 3, 4] }]);
    expect(plan.refuse).toEqual([]);
  });

  it('a later request with a tight deadline is not taken into a batch that would make it late', () => {
    const pending = [req(1, 0, { priority: 1 }), req(2, 1, { priority: 1 }), req(3, 2, { priority: 2, deadline: 23 })];
    // Rows 1-2 alone: 12 ms. With request 3: 14 ms, finishing at 24, past its deadline at 23.
    const plan = schedule({ pending, idleInstances: [0, 1] }, batching(), 10, profile);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [1, 2] }]);
    // Alone it takes 10 ms, so it may wait for company until 13.
    expect(plan.wakeAt).toBe(13);
  });

  it('without a profile, deadlines do not limit the batch', () => {
    const plan = schedule({ pending: seqs(6, { deadline: 26 }), idleInstances: [0] }, batching([], 0), 20);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [1, 2, 3, 4, 5, 6] }]);
  });

  it('respects max_batch_size before deadlines', () => {
    const plan = schedule({ pending: seqs(10, { deadline: 1000 }), idleInstances: [0] }, batching(), 10, profile);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [1, 2, 3, 4, 5, 6, 7, 8] }]);
  });
});

describe('waiting for company, bounded by the queue delay and by deadlines', () => {
  it('waits no longer than the latest start that still meets the deadline', () => {
    // Deadline at 50, one row takes 10 ms: it must start by 40, before the queue delay ends at 100.
    const pending = [req(1, 0, { deadline: 50 })];
    expect(schedule({ pending, idleInstances: [0] }, batching(), 0, profile)).toEqual({ dispatch: [], refuse: [], wakeAt: 40 });
    expect(schedule({ pending, idleInstances: [0] }, batching(), 40, profile).dispatch).toEqual([{ instance: 0, seqs: [1] }]);
  });

  it('measures the queue delay from the oldest member, not from the head in deadline order', () => {
    const pending = [req(1, 0), req(2, 30, { deadline: 1000 })];
    expect(schedule({ pending, idleInstances: [0] }, batching([], 50), 20).wakeAt).toBe(50);
    expect(schedule({ pending, idleInstances: [0] }, batching([], 50), 50).dispatch).toEqual([{ instance: 0, seqs: [2, 1] }]);
  });

  it('runs a prefix that reaches a preferred size now, and lets the rest wait', () => {
    const plan = schedule({ pending: seqs(6), idleInstances: [0, 1] }, batching([4]), 10);
    expect(plan).toEqual({ dispatch: [{ instance: 0, seqs: [1, 2, 3, 4] }], refuse: [], wakeAt: 104 });
  });

  it('prefers the largest preferred size a prefix reaches', () => {
    const plan = schedule({ pending: seqs(7), idleInstances: [0] }, batching([2, 4, 6]), 10);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [1, 2, 3, 4, 5, 6] }]);
  });

  it('never joins different shapes, in deadline order either', () => {
    const pending = [req(1, 0, { shapeKey: 'x', deadline: 500 }), req(2, 0, { shapeKey: 'y', deadline: 100 }), req(3, 1, { shapeKey: 'x', deadline: 90 })];
    const plan = schedule({ pending, idleInstances: [0, 1] }, batching([], 0), 10, profile);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [3, 1] }, { instance: 1, seqs: [2] }]);
  });

  it('a higher level heads the batch; lower levels of the same shape fill it', () => {
    const pending = [req(1, 0, { priority: 3 }), req(2, 5, { priority: 1 }), req(3, 6, { priority: 2 })];
    expect(schedule({ pending, idleInstances: [0] }, batching([], 0), 10).dispatch).toEqual([{ instance: 0, seqs: [2, 3, 1] }]);
  });
});

describe('wakeAt', () => {
  it('always lies in the future, so a driver that arms a timer for it never spins', () => {
    let seed = 11;
    const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 500; trial++) {
      const now = Math.floor(rand() * 50);
      const pending = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => req(i, Math.floor(rand() * now), {
        batchSize: 1 + Math.floor(rand() * 3),
        shapeKey: rand() < 0.5 ? 'a' : 'b',
        priority: 1 + Math.floor(rand() * 2),
        ...(rand() < 0.6 && { deadline: Math.floor(rand() * 100) }),
        ...(rand() < 0.4 && { timeoutAt: Math.floor(rand() * 80), timeoutAction: rand() < 0.5 ? 'DELAY' as const : 'REJECT' as const }),
      }));
      const idleInstances = rand() < 0.3 ? [] : [0];
      const plan = schedule({ pending, idleInstances }, batching([4], Math.floor(rand() * 20)), now, rand() < 0.5 ? profile : undefined);
      if (plan.wakeAt !== undefined) expect(plan.wakeAt).toBeGreaterThan(now);
      const out = [...plan.refuse.map((r) => r.seq), ...plan.dispatch.flatMap((d) => d.seqs)];
      expect(new Set(out).size).toBe(out.length); // no request both refused and run, or run twice
    }
  });
});
