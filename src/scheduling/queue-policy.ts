import type { ErrorKind } from '../core/errors.js';
import type { LatencyEstimator } from './profile.js';

/**
 * What waits in a model version's queue and in which order it is served: priority levels
 * (Triton's: 1 is the highest, and every level is served before the next), earliest deadline
 * first within a level, then arrival. Also which waiting requests must leave the queue
 * unserved: their queue timeout ran out (Triton's REJECT), or their deadline can no longer be
 * met. All of it is decided from plain data and a `now` the caller passes in.
 */

export type TimeoutAction = 'REJECT' | 'DELAY';

export interface PendingRequest {
  /** Identifies the request to the caller. */
  seq: number;
  /** Clock time (ms) it arrived. */
  arrival: number;
  /** Rows it contributes to a batch (its leading dimension; 1 for unbatched models). */
  batchSize: number;
  /** Requests may share a batch only when their keys are equal (same inputs, same non-batch shapes). */
  shapeKey: string;
  /** Priority level, 1 the highest; absent: 1 (priorities off, one level). */
  priority?: number;
  /** Clock time by which its answer must be ready; absent: none. */
  deadline?: number;
  /** Clock time its queue timeout runs out (its level's policy or its own override); absent: never. */
  timeoutAt?: number;
  /** What a run-out timeout means; absent: REJECT. */
  timeoutAction?: TimeoutAction;
  /**
   * Admitted against a stale prediction to learn the model's current speed (see admit): it is
   * not dropped on a prediction, only once its deadline has passed.
   */
  probe?: boolean;
  /**
   * Clock time admission predicted it would finish (without any margin), to learn how late
   * finishes run (lateness.ts); absent when there was no prediction.
   */
  predictedFinish?: number;
  /** The tenant it came for; absent without tenants. */
  tenant?: string;
  /**
   * Its virtual start time under start-time fair queuing (src/tenants/fair-share.ts), which
   * shares a level among tenants by weight; absent without tenants, and then the order is
   * exactly priority, deadline, arrival. A tenant's tags follow its own requests' urgency.
   */
  fairTag?: number;
}

/** What admission settles for a request; the caller stores it on the PendingRequest. */
export type Ticket = Pick<PendingRequest, 'priority' | 'deadline' | 'timeoutAt' | 'timeoutAction' | 'probe' | 'predictedFinish' | 'tenant' | 'fairTag'>;

/** A batch on a busy instance, to predict when that instance frees up. */
export interface RunningBatch {
  /** Clock time it started. */
  startedAt: number;
  rows: number;
}

export type RefusalKind = Extract<ErrorKind, 'overloaded' | 'deadline_exceeded' | 'invalid_argument'>;

/** Why, for metrics; `kind` is what the client is told (an ErrorKind). */
export type RefusalReason = 'queue_full' | 'queue_timeout' | 'deadline' | 'invalid_priority';

export interface Refusal {
  seq: number;
  kind: RefusalKind;
  reason: RefusalReason;
  message: string;
}

/** A timed-out request under DELAY: it stays, but behind every request of its level that has not timed out. */
export function isDelayed(r: PendingRequest, now: number): boolean {
  return r.timeoutAction === 'DELAY' && r.timeoutAt !== undefined && r.timeoutAt <= now;
}

const cmp = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The serving order at `now`: priority level, then delayed last, then (with tenants) virtual
 * start time, which shares a level among tenants by weight, then earliest deadline, then arrival.
 */
export function queueOrder(now: number): (a: PendingRequest, b: PendingRequest) => number {
  return (a, b) =>
    cmp(a.priority ?? 1, b.priority ?? 1) ||
    cmp(Number(isDelayed(a, now)), Number(isDelayed(b, now))) ||
    cmp(a.fairTag ?? 0, b.fairTag ?? 0) ||
    byUrgency(a, b);
}

/** Earliest deadline, then arrival: the order within a level (and, with tenants, within a tenant). */
export const byUrgency = (a: PendingRequest, b: PendingRequest): number =>
  cmp(a.deadline ?? Infinity, b.deadline ?? Infinity) || cmp(a.arrival, b.arrival) || cmp(a.seq, b.seq);

/** Requests to refuse now, and the next time one may have to be (a timeout or a deadline coming due). */
export interface Expiry {
  refuse: Refusal[];
  wakeAt?: number;
}

/**
 * Timeouts and deadlines at `now`. A request whose REJECT timeout passed is refused; a DELAY
 * one stays (queueOrder moves it back). A request with a deadline is dropped before it runs
 * once the deadline passed, or when, started at `earliestStart` (now, or when the first busy
 * instance is predicted to free up) and run alone, it is predicted to finish too late:
 * running it would spend an instance on an answer nobody can use.
 */
export function expire(pending: readonly PendingRequest[], now: number, earliestStart: number, profile?: LatencyEstimator): Expiry {
  const refuse: Refusal[] = [];
  let wakeAt = Infinity;
  for (const r of pending) {
    if (r.timeoutAt !== undefined && r.timeoutAction !== 'DELAY') {
      if (r.timeoutAt <= now) {
        refuse.push({
          seq: r.seq, kind: 'deadline_exceeded', reason: 'queue_timeout',
          message: `waited ${fmt(now - r.arrival)} in the queue, past its timeout of ${fmt(r.timeoutAt - r.arrival)}`,
        });
        continue;
      }
      wakeAt = Math.min(wakeAt, r.timeoutAt);
    } else if (r.timeoutAt !== undefined && r.timeoutAt > now) {
      wakeAt = Math.min(wakeAt, r.timeoutAt); // the order changes then
    }
    if (r.deadline === undefined) continue;
    const compute = r.probe ? undefined : profile?.estimate(r.batchSize);
    const problem = deadlineProblem(r, r.deadline, now, earliestStart, compute);
    if (problem) refuse.push({ seq: r.seq, kind: 'deadline_exceeded', reason: 'deadline', message: problem });
    else if (r.deadline - (compute ?? 0) > now) wakeAt = Math.min(wakeAt, r.deadline - (compute ?? 0));
  }
  return wakeAt === Infinity ? { refuse } : { refuse, wakeAt };
}

function deadlineProblem(r: PendingRequest, deadline: number, now: number, earliestStart: number, compute: number | undefined): string | undefined {
  const promised = `its deadline ${fmt(deadline - r.arrival)} after arrival`;
  if (deadline <= now) return `${promised} passed ${fmt(now - deadline)} ago, before it could run`;
  if (compute === undefined) return undefined;
  const start = Math.max(now, earliestStart);
  if (start + compute <= deadline) return undefined;
  const wait = start > now ? `${fmt(start - now)} until an instance frees up, then ` : '';
  return `${promised} can no longer be met: it would finish in ${fmt(start + compute - now)} (${wait}${fmt(compute)} compute for ${rows(r.batchSize)}), ` +
    `${fmt(start + compute - deadline)} late`;
}

/** Milliseconds the way a message shows them. */
export function fmt(ms: number): string {
  return Number.isInteger(ms) ? `${ms} ms` : `${ms.toFixed(1)} ms`;
}

export function rows(n: number): string {
  return n === 1 ? '1 row' : `${n} rows`;
}
