import { describe, expect, it } from 'vitest';
import { type Arrival, type QueueSummary, admit } from '../../src/scheduling/admission.js';
import type { PendingRequest } from '../../src/scheduling/policy.js';
import { LatencyProfile } from '../../src/scheduling/profile.js';
import { expire } from '../../src/scheduling/queue-policy.js';
import { type LevelRules, NO_LIMITS, type QueueRules } from '../../src/scheduling/rules.js';

const rules = (more: Partial<QueueRules> = {}): QueueRules => ({
  priorityLevels: 0, defaultLevel: 1, defaultRules: NO_LIMITS, levelRules: {}, defaultDeadlineMs: 0, maxQueueSize: 0, ...more,
});
const level = (more: Partial<LevelRules>): LevelRules => ({ ...NO_LIMITS, ...more });
const threeLevels = (more: Partial<QueueRules> = {}) => rules({ priorityLevels: 3, defaultLevel: 2, ...more });
const queue = (pending: PendingRequest[] = [], more: Partial<QueueSummary> = {}): QueueSummary => ({
  pending, running: [], instances: 1, batching: { maxBatchSize: 8, dynamic: { preferredBatchSizes: [], maxQueueDelayMs: 0 } }, ...more,
});
const waiting = (seq: number, more: Partial<PendingRequest> = {}): PendingRequest => ({ seq, arrival: 0, batchSize: 1, shapeKey: 'a', ...more });
const at = (arrival: number, more: Partial<Arrival> = {}): Arrival => ({ arrival, batchSize: 1, ...more });
/** 8 ms fixed cost plus 2 ms a row, learnt from two batch sizes. */
const profile = LatencyProfile.from([{ rows: 1, ms: 10, samples: 1 }, { rows: 8, ms: 24, samples: 1 }]);

describe('admit: priority levels', () => {
  it('without levels, every request joins the one queue and its priority is ignored', () => {
    expect(admit(queue(), at(0, { priority: 7 }), rules(), undefined, 0)).toEqual({ admitted: true, ticket: { priority: 1, timeoutAction: 'REJECT' } });
  });

  it('0 or no priority means the default level; a level in range is kept', () => {
    const level = (priority?: number) => {
      const a = admit(queue(), at(0, priority === undefined ? {} : { priority }), threeLevels(), undefined, 0);
      return a.admitted ? a.ticket.priority : a.message;
    };
    expect([level(), level(0), level(1), level(3)]).toEqual([2, 2, 1, 3]);
  });

  it('a level out of range is refused as an invalid argument, naming the range', () => {
    expect(admit(queue(), at(0, { priority: 4 }), threeLevels(), undefined, 0)).toEqual({
      admitted: false, kind: 'invalid_argument', reason: 'invalid_priority',
      message: 'priority 4 is out of range: this model has levels 1 (highest) to 3; 0 or none means the default level 2',
    });
  });
});

describe('admit: queue timeouts', () => {
  const timeoutOf = (r: QueueRules, timeoutMicroseconds?: number) => {
    const a = admit(queue(), at(100, timeoutMicroseconds === undefined ? {} : { timeoutMicroseconds }), r, undefined, 100);
    return a.admitted ? a.ticket.timeoutAt : a.message;
  };

  it("takes the level's timeout and action", () => {
    const r = threeLevels({ levelRules: { 2: level({ timeoutMs: 10, timeoutAction: 'DELAY' }) } });
    expect(admit(queue(), at(100), r, undefined, 100)).toEqual({ admitted: true, ticket: { priority: 2, timeoutAction: 'DELAY', timeoutAt: 110 } });
  });

  it('an allowed override may shorten the timeout but not lengthen it', () => {
    const r = rules({ defaultRules: level({ timeoutMs: 10, allowTimeoutOverride: true }) });
    expect(timeoutOf(r, 5000)).toBe(105);
    expect(timeoutOf(r, 20000)).toBe(110);
    expect(timeoutOf(r, 0)).toBe(110);
  });

  it('with no default timeout, an allowed override sets one', () => {
    expect(timeoutOf(rules({ defaultRules: level({ allowTimeoutOverride: true }) }), 3000)).toBe(103);
  });

  it('a forbidden override is ignored, as in Triton', () => {
    expect(timeoutOf(rules({ defaultRules: level({ timeoutMs: 10 }) }), 5000)).toBe(110);
    expect(timeoutOf(rules(), 5000)).toBeUndefined();
  });
});

describe('admit: queue full', () => {
  const full = threeLevels({ levelRules: { 1: level({ maxQueueSize: 2 }) } });
  const twoAtLevel1 = [waiting(1, { priority: 1 }), waiting(2, { priority: 1 })];

  it("refuses a request whose level's queue is full, and only that level", () => {
    expect(admit(queue(twoAtLevel1), at(0, { priority: 1 }), full, undefined, 0)).toEqual({
      admitted: false, kind: 'overloaded', reason: 'queue_full', retryAfterSeconds: 1,
      message: 'queue of priority level 1 full (2 requests waiting, max_queue_size 2)',
    });
    expect(admit(queue(twoAtLevel1), at(0, { priority: 3 }), full, undefined, 0).admitted).toBe(true);
  });

  it('applies the server-wide cap across levels', () => {
    const a = admit(queue(twoAtLevel1), at(0, { priority: 3 }), threeLevels({ maxQueueSize: 2 }), undefined, 0);
    expect(a).toMatchObject({ admitted: false, kind: 'overloaded', message: 'queue full (2 requests waiting)' });
  });

  it('suggests retrying once the work ahead has drained, in whole seconds', () => {
    const slow = LatencyProfile.from([{ rows: 1, ms: 1200, samples: 1 }]);
    const a = admit(queue(twoAtLevel1, { batching: { maxBatchSize: 0 } }), at(0, { priority: 1 }), full, slow, 0);
    expect(a).toMatchObject({ admitted: false, retryAfterSeconds: 3 }); // 2 requests of 1.2 s ahead
  });
});

describe('admit: deadlines', () => {
  // At 10: a 4-row batch started at 0 has 6 ms left (16 ms); 3 rows queued take 14 ms as one batch: 20 ms wait.
  // The queued ones have earlier deadlines, so they are served first.
  const busy = queue([waiting(1, { deadline: 30 }), waiting(2, { deadline: 30 }), waiting(3, { deadline: 30 })], { running: [{ startedAt: 0, rows: 4 }] });

  it("takes the request's own deadline, else the model's default", () => {
    const withDefault = rules({ defaultDeadlineMs: 50 });
    expect(admit(queue(), at(10), withDefault, undefined, 10)).toMatchObject({ ticket: { deadline: 60 } });
    expect(admit(queue(), at(10, { deadlineMicroseconds: 20000 }), withDefault, undefined, 10)).toMatchObject({ ticket: { deadline: 30 } });
    expect(admit(queue(), at(10), rules(), undefined, 10)).toEqual({ admitted: true, ticket: { priority: 1, timeoutAction: 'REJECT' } });
  });

  it('refuses what is predicted to finish late: work ahead plus its own compute', () => {
    expect(admit(busy, at(10, { deadlineMicroseconds: 25000 }), rules(), profile, 10)).toEqual({
      admitted: false, kind: 'deadline_exceeded', reason: 'deadline',
      message: 'its deadline 25 ms after arrival cannot be met: predicted to finish 30 ms after arrival ' +
        '(20 ms for the work ahead of it, 3 queued and 1 running on 1 instance, then 10 ms compute for 1 row)',
    });
    expect(admit(busy, at(10, { deadlineMicroseconds: 30000 }), rules(), profile, 10).admitted).toBe(true);
  });

  it('adds the margin by which recent requests finished late, and records the raw prediction on the ticket', () => {
    // Predicted 30 ms after arrival; in time for a 32 ms deadline alone, not with a 3 ms margin.
    const tight = at(10, { deadlineMicroseconds: 32000 });
    expect(admit(busy, tight, rules(), profile, 10)).toMatchObject({ admitted: true, ticket: { deadline: 42, predictedFinish: 40 } });
    expect(admit({ ...busy, marginMs: 3 }, tight, rules(), profile, 10)).toEqual({
      admitted: false, kind: 'deadline_exceeded', reason: 'deadline',
      message: 'its deadline 32 ms after arrival cannot be met: predicted to finish 33 ms after arrival ' +
        '(20 ms for the work ahead of it, 3 queued and 1 running on 1 instance, then 10 ms compute for 1 row, ' +
        'then 3 ms by which recent requests finished later than predicted)',
    });
    expect(admit({ ...busy, marginMs: 2 }, tight, rules(), profile, 10).admitted).toBe(true);
  });

  it('shares the work ahead among the instances', () => {
    expect(admit({ ...busy, instances: 2 }, at(10, { deadlineMicroseconds: 25000 }), rules(), profile, 10).admitted).toBe(true);
  });

  it('counts only the requests served before it: a lower level does not delay a higher one', () => {
    const lower = queue(busy.pending.map((p) => ({ ...p, priority: 3 })), { running: busy.running });
    expect(admit(lower, at(10, { priority: 1, deadlineMicroseconds: 25000 }), threeLevels(), profile, 10).admitted).toBe(true);
    expect(admit(lower, at(10, { priority: 3, deadlineMicroseconds: 25000 }), threeLevels(), profile, 10).admitted).toBe(false);
  });

  it('earliest deadline first: queued requests with later deadlines (or none) are not ahead of it', () => {
    const relaxed = queue(busy.pending.map((p) => ({ ...p, deadline: 100 })), { running: busy.running });
    expect(admit(relaxed, at(10, { deadlineMicroseconds: 25000 }), rules(), profile, 10).admitted).toBe(true);
  });

  it('without a profile, or before it has seen a batch, refuses nothing on a guess', () => {
    expect(admit(busy, at(10, { deadlineMicroseconds: 1000 }), rules(), undefined, 10).admitted).toBe(true);
    expect(admit(busy, at(10, { deadlineMicroseconds: 1000 }), rules(), new LatencyProfile(), 10).admitted).toBe(true);
  });

  it('refuses a deadline that passed before the request was queued', () => {
    expect(admit(queue(), at(0, { deadlineMicroseconds: 20000 }), rules(), undefined, 30)).toEqual({
      admitted: false, kind: 'deadline_exceeded', reason: 'deadline', message: 'its deadline 20 ms after arrival passed before it was queued',
    });
  });
});

describe('admit: probing a stale profile', () => {
  /** Learnt under a load that made a batch of 1 take 60 ms, the last sample at t = 1000. */
  const slowThen = () => {
    const p = new LatencyProfile();
    p.observe(1, 60, 1000);
    return p;
  };
  const deadline50 = at(0, { deadlineMicroseconds: 50_000 });

  it('refuses on a fresh prediction, even with the model idle', () => {
    const a = admit(queue(), { ...deadline50, arrival: 1500 }, rules(), slowThen(), 1500);
    expect(a).toMatchObject({ admitted: false, reason: 'deadline' });
  });

  it('lets one request through as a probe once an idle model has gone a second without samples', () => {
    const a = admit(queue(), { ...deadline50, arrival: 2000 }, rules(), slowThen(), 2000);
    expect(a).toEqual({ admitted: true, ticket: { priority: 1, timeoutAction: 'REJECT', deadline: 2050, probe: true } });
  });

  it('does not probe while work is queued or running: the prediction then rests on what is ahead', () => {
    const busy = queue([], { running: [{ startedAt: 1990, rows: 1 }] });
    expect(admit(busy, { ...deadline50, arrival: 2000 }, rules(), slowThen(), 2000)).toMatchObject({ admitted: false });
    const queued = queue([waiting(1, { arrival: 1999 })]);
    expect(admit(queued, { ...deadline50, arrival: 2000 }, rules(), slowThen(), 2000)).toMatchObject({ admitted: false });
  });

  it('a probe is not dropped from the queue on the prediction, only once its deadline has passed', () => {
    const probe = waiting(1, { arrival: 2000, deadline: 2050, probe: true });
    expect(expire([probe], 2001, 2001, slowThen()).refuse).toEqual([]);
    expect(expire([probe], 2051, 2051, slowThen()).refuse).toMatchObject([{ seq: 1, reason: 'deadline' }]);
  });

  it('the probe\'s sample, after the gap, replaces the stale point instead of being averaged in', () => {
    const p = slowThen();
    p.observe(1, 4, 2100);
    expect(p.estimate(1)).toBe(4);
    p.observe(1, 14, 2200);
    expect(p.estimate(1)).toBeCloseTo(6, 6); // averaged again: 4 + 0.2 × (14 − 4)
    expect(admit(queue(), { ...deadline50, arrival: 2300 }, rules(), p, 2300)).toMatchObject({ admitted: true });
  });
});
