import type { BatchingConfig } from './policy.js';
import type { LatencyEstimator } from './profile.js';
import {
  type PendingRequest, type RefusalKind, type RefusalReason, type RunningBatch, type Ticket, fmt, queueOrder, rows,
} from './queue-policy.js';
import { type QueueRules, rulesFor } from './rules.js';

/**
 * Admission on arrival: settle a request's priority level, queue timeout and deadline, and
 * refuse it at once when its level's queue is full or when, after the work already queued
 * and running ahead of it, it is predicted to finish past its deadline (Clockwork's rule:
 * refuse early what cannot be served in time, rather than answer late). Without a latency
 * profile there is nothing to predict from, and only a deadline already passed is refused.
 */

/** A request as admission sees it, with the scheduling parameters it brought (Triton's units). */
export interface Arrival {
  /** Clock time (ms) it arrived: timeout and deadline count from here. */
  arrival: number;
  batchSize: number;
  /** Triton's `priority` parameter: 1 the highest; 0 or absent: the model's default level. */
  priority?: number;
  /** Triton's `timeout` parameter, µs: may shorten the level's queue timeout where its policy allows; 0 or absent: the default. */
  timeoutMicroseconds?: number;
  /** The request's own deadline, µs after arrival; 0 or absent: the model's slo.default_deadline_microseconds. */
  deadlineMicroseconds?: number;
  /** With tenants: whose it is, and its virtual start time (FairShare.startTag), carried onto the ticket. */
  tenant?: string;
  fairTag?: number;
}

export interface QueueSummary {
  /** Requests waiting now, in any order. */
  pending: readonly PendingRequest[];
  /** Batches on busy instances. */
  running: readonly RunningBatch[];
  /** Instances of the model version, busy or not. */
  instances: number;
  /** How queued rows will be batched, to predict the work ahead. */
  batching: BatchingConfig;
  /**
   * Ms by which recent requests finished later than predicted (lateness.ts), added to a
   * prediction before it is held against a deadline; absent: 0.
   */
  marginMs?: number;
}

export type Admission =
  | { admitted: true; ticket: Ticket }
  | { admitted: false; kind: RefusalKind; reason: RefusalReason; message: string; retryAfterSeconds?: number };

export function admit(queue: QueueSummary, request: Arrival, rules: QueueRules, profile: LatencyEstimator | undefined, now: number): Admission {
  const level = resolveLevel(request.priority, rules);
  if (typeof level === 'string') return { admitted: false, kind: 'invalid_argument', reason: 'invalid_priority', message: level };
  const policy = rulesFor(rules, level);

  // As in Triton, a request may shorten its level's timeout but not lengthen it, and only where
  // the policy allows; a forbidden override is ignored, not refused.
  const asked = (request.timeoutMicroseconds ?? 0) / 1000;
  const timeoutMs = policy.allowTimeoutOverride && asked > 0 && (policy.timeoutMs === 0 || asked < policy.timeoutMs) ? asked : policy.timeoutMs;
  const budgetMs = request.deadlineMicroseconds ? request.deadlineMicroseconds / 1000 : rules.defaultDeadlineMs;
  const ticket: Ticket = { priority: level, timeoutAction: policy.timeoutAction };
  if (request.fairTag !== undefined) {
    ticket.tenant = request.tenant;
    ticket.fairTag = request.fairTag;
  }
  if (timeoutMs > 0) ticket.timeoutAt = request.arrival + timeoutMs;
  if (budgetMs > 0) ticket.deadline = request.arrival + budgetMs;

  const full = queueFull(queue.pending, level, rules);
  if (!full && ticket.deadline === undefined) return { admitted: true, ticket };

  const me: PendingRequest = { seq: Infinity, arrival: request.arrival, batchSize: request.batchSize, shapeKey: '', ...ticket };
  const order = queueOrder(now);
  const ahead = queue.pending.filter((p) => order(p, me) < 0);
  const waitMs = predictWait(queue, ahead, profile, now);
  if (full) {
    // Room opens once the work ahead of it drains; Retry-After counts whole seconds.
    const retryAfterSeconds = waitMs === undefined ? 1 : Math.min(60, Math.max(1, Math.ceil(waitMs / 1000)));
    return { admitted: false, kind: 'overloaded', reason: 'queue_full', message: full, retryAfterSeconds };
  }

  if (ticket.deadline !== undefined) {
    const promised = `its deadline ${fmt(budgetMs)} after arrival`;
    if (ticket.deadline <= now) {
      return { admitted: false, kind: 'deadline_exceeded', reason: 'deadline', message: `${promised} passed before it was queued` };
    }
    const own = profile?.estimate(request.batchSize);
    const margin = queue.marginMs ?? 0;
    if (waitMs !== undefined && own !== undefined) ticket.predictedFinish = now + waitMs + own;
    if (waitMs !== undefined && own !== undefined && now + waitMs + own + margin > ticket.deadline) {
      // Refused requests never run, so a prediction learnt under a load that has since gone would
      // refuse everything for ever. An idle model whose profile has not been fed for a while lets
      // one request through to measure it again (a circuit breaker's half-open state).
      // Its prediction is the stale one on trial, so it teaches the lateness margin nothing.
      if (isIdle(queue) && stale(profile, now)) {
        const { predictedFinish: _, ...probe } = ticket;
        return { admitted: true, ticket: { ...probe, probe: true } };
      }
      const instances = queue.instances === 1 ? '1 instance' : `${queue.instances} instances`;
      const late = margin > 0 ? `, then ${fmt(margin)} by which recent requests finished later than predicted` : '';
      return {
        admitted: false, kind: 'deadline_exceeded', reason: 'deadline',
        message: `${promised} cannot be met: predicted to finish ${fmt(now + waitMs + own + margin - request.arrival)} after arrival ` +
          `(${fmt(waitMs)} for the work ahead of it, ${ahead.length} queued and ${queue.running.length} running on ${instances}, ` +
          `then ${fmt(own)} compute for ${rows(request.batchSize)}${late})`,
      };
    }
  }
  return { admitted: true, ticket };
}

/** After this long without a new sample (ms), an idle model's profile is put to the test again. */
export const PROBE_AFTER_MS = 1000;

function isIdle(queue: QueueSummary): boolean {
  return queue.pending.length === 0 && queue.running.length === 0;
}

function stale(profile: LatencyEstimator | undefined, now: number): boolean {
  const last = profile?.lastObservedAt;
  return last !== undefined && now - last >= PROBE_AFTER_MS;
}

/** The level a request's priority asks for, or why it cannot have it. */
export function resolveLevel(priority: number | undefined, rules: QueueRules): number | string {
  // Without levels every request shares one queue and its priority means nothing, as in Triton.
  if (rules.priorityLevels === 0) return 1;
  if (priority === undefined || priority === 0) return rules.defaultLevel;
  if (Number.isSafeInteger(priority) && priority >= 1 && priority <= rules.priorityLevels) return priority;
  return `priority ${priority} is out of range: this model has levels 1 (highest) to ${rules.priorityLevels}; ` +
    `0 or none means the default level ${rules.defaultLevel}`;
}

function queueFull(pending: readonly PendingRequest[], level: number, rules: QueueRules): string | undefined {
  if (rules.maxQueueSize > 0 && pending.length >= rules.maxQueueSize) return `queue full (${pending.length} requests waiting)`;
  const max = rulesFor(rules, level).maxQueueSize;
  if (max === 0) return undefined;
  const waiting = pending.filter((p) => (p.priority ?? 1) === level).length;
  if (waiting < max) return undefined;
  const which = rules.priorityLevels === 0 ? 'queue' : `queue of priority level ${level}`;
  return `${which} full (${waiting} requests waiting, max_queue_size ${max})`;
}

/**
 * Predicted ms until an instance is free for a request behind `ahead`: what the running
 * batches have left plus the queued work, shared evenly by the instances. Queued rows are
 * assumed to pack into full batches, which makes this a mild underestimate, so admission
 * errs towards accepting. Undefined when the profile cannot predict yet.
 */
function predictWait(queue: QueueSummary, ahead: readonly PendingRequest[], profile: LatencyEstimator | undefined, now: number): number | undefined {
  if (!profile) return undefined;
  let work = 0;
  for (const b of queue.running) {
    const ms = profile.estimate(b.rows);
    if (ms === undefined) return undefined;
    work += Math.max(0, b.startedAt + ms - now);
  }
  const queued = queuedWork(ahead, queue.batching, profile);
  if (queued === undefined) return undefined;
  return (work + queued) / Math.max(1, queue.instances);
}

function queuedWork(ahead: readonly PendingRequest[], batching: BatchingConfig, profile: LatencyEstimator): number | undefined {
  if (ahead.length === 0) return 0;
  const max = batching.maxBatchSize;
  if (!batching.dynamic || max === 0) {
    let sum = 0;
    for (const r of ahead) {
      const ms = profile.estimate(r.batchSize);
      if (ms === undefined) return undefined;
      sum += ms;
    }
    return sum;
  }
  const total = ahead.reduce((n, r) => n + r.batchSize, 0);
  const fullBatches = Math.floor(total / max);
  const rest = total % max;
  const perFull = fullBatches > 0 ? profile.estimate(max) : 0;
  const last = rest > 0 ? profile.estimate(rest) : 0;
  return perFull === undefined || last === undefined ? undefined : fullBatches * perFull + last;
}
