import { describe, expect, it } from 'vitest';
import { type BatchingConfig, type PendingRequest, schedule } from '../../src/scheduling/policy.js';
import type { LatencyEstimator } from '../../src/scheduling/profile.js';

/** Priorities, earliest deadline first, queue timeouts and dropping requests past saving. */

const req = (seq: number, arrival: number, more: Partial<PendingRequest> = {}): PendingRequest => ({ seq, arrival, batchSize: 1, shapeKey: 'a', ...more });
const alone: BatchingConfig = { maxBatchSize: 8 };
/** 8 ms fixed cost plus 2 ms a row: 1 row 10 ms, 4 rows 16 ms, 8 rows 24 ms. */
const profile: LatencyEstimator = { estimate: (rows) => 8 + 2 * rows };
const order = (pending: PendingRequest[], now: number, instances = pending.length) =>
  schedule({ pending, idleInstances: [...Array(instances).keys()] }, alone, now).dispatch.map((d) => d.seqs[0]);

describe('serving order', () => {
  it('serves a higher priority level (a lower number) first, whatever the arrival', () => {
    expect(order([req(1, 0, { priority: 2 }), req(2, 5, { priority: 1 })], 10, 1)).toEqual([2]);
  });

  it('within a level, earliest deadline first; requests without a deadline after those with one', () => {
    const pending = [req(1, 0, { deadline: 100 }), req(2, 1), req(3, 2, { deadline: 50 })];
    expect(order(pending, 10)).toEqual([3, 1, 2]);
  });

  it('a priority level outranks an earlier deadline in a lower level', () => {
    expect(order([req(1, 0, { priority: 2, deadline: 20 }), req(2, 1, { priority: 1, deadline: 90 })], 10, 1)).toEqual([2]);
  });

  it('without priorities or deadlines, arrival order (FIFO)', () => {
    expect(order([req(3, 2), req(1, 0), req(2, 1)], 5)).toEqual([1, 2, 3]);
  });
});

describe('queue timeouts', () => {
  it('REJECT: a request whose timeout ran out is refused, not run', () => {
    const plan = schedule({ pending: [req(1, 0, { timeoutAt: 10 }), req(2, 1)], idleInstances: [0] }, alone, 10);
    expect(plan.refuse).toEqual([{ seq: 1, kind: 'deadline_exceeded', reason: 'queue_timeout', message: 'waited 10 ms in the queue, past its timeout of 10 ms' }]);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [2] }]);
  });

  it('REJECT is the action when none is given, and the timeout is a reason to be woken while instances are busy', () => {
    const plan = schedule({ pending: [req(1, 0, { timeoutAt: 10 })], idleInstances: [] }, alone, 4);
    expect(plan).toEqual({ dispatch: [], refuse: [], wakeAt: 10 });
  });

  it('DELAY: a timed-out request moves behind the others of its level, but stays ahead of lower levels', () => {
    const pending = [req(1, 0, { timeoutAt: 5, timeoutAction: 'DELAY' }), req(2, 3), req(3, 1, { priority: 2 })];
    expect(order(pending, 4)).toEqual([1, 2, 3]);
    expect(order(pending, 6)).toEqual([2, 1, 3]);
    expect(schedule({ pending, idleInstances: [] }, alone, 6).refuse).toEqual([]);
  });
});

describe('dropping requests that can no longer meet their deadline', () => {
  it('drops a request whose deadline passed, before it runs', () => {
    const plan = schedule({ pending: [req(1, 0, { deadline: 20 }), req(2, 1)], idleInstances: [0] }, alone, 25);
    expect(plan.refuse).toEqual([{ seq: 1, kind: 'deadline_exceeded', reason: 'deadline', message: 'its deadline 20 ms after arrival passed 5 ms ago, before it could run' }]);
    expect(plan.dispatch).toEqual([{ instance: 0, seqs: [2] }]);
  });

  it('with a profile, drops one that would finish late even if started now', () => {
    const pending = [req(1, 0, { deadline: 30 })];
    const plan = schedule({ pending, idleInstances: [0] }, alone, 25, profile);
    expect(plan.refuse[0]?.message).toBe('its deadline 30 ms after arrival can no longer be met: it would finish in 10 ms (10 ms compute for 1 row), 5 ms late');
    expect(plan.dispatch).toEqual([]);
    // Without a profile there is no evidence it will be late: it runs.
    expect(schedule({ pending, idleInstances: [0] }, alone, 25).dispatch).toEqual([{ instance: 0, seqs: [1] }]);
  });

  it('counts the wait for a busy instance to free up', () => {
    const pending = [req(1, 0, { deadline: 30 })];
    const plan = schedule({ pending, idleInstances: [], running: [{ startedAt: 0, rows: 8 }] }, alone, 5, profile);
    expect(plan.refuse[0]?.message).toMatch(/it would finish in 29 ms \(19 ms until an instance frees up, then 10 ms compute for 1 row\), 4 ms late/);
    // Not knowing when the instance frees up, it keeps the request and asks to be woken when it must start.
    expect(schedule({ pending, idleInstances: [] }, alone, 5, profile)).toEqual({ dispatch: [], refuse: [], wakeAt: 20 });
  });

  it('keeps a request that can still make it, and wakes at its deadline when there is no profile', () => {
    expect(schedule({ pending: [req(1, 0, { deadline: 30 })], idleInstances: [] }, alone, 5)).toEqual({ dispatch: [], refuse: [], wakeAt: 30 });
  });
});
