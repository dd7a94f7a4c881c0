import type { LatencyEstimator } from './profile.js';
import { type PendingRequest, type Refusal, type RunningBatch, expire, queueOrder } from './queue-policy.js';

export type { PendingRequest, Refusal, RunningBatch } from './queue-policy.js';

/**
 * The batching decision as a pure function: given what waits in one model's queue and which
 * instances are idle at time `now`, say which requests run together on which instance, which
 * waiting requests are refused (timed out, or past saving for their deadline), and when to be
 * asked again. No timers, no I/O: the live scheduler and the simulator both call it.
 *
 * Without priorities, deadlines, timeouts or a profile it decides exactly as plain FIFO
 * dynamic batching did: the oldest request heads the next batch.
 */

export interface BatchingConfig {
  /** Largest total rows in one batch; 0 means the model takes no batch dimension. */
  maxBatchSize: number;
  /** Absent: no dynamic batching; each request runs alone. */
  dynamic?: {
    preferredBatchSizes: readonly number[];
    maxQueueDelayMs: number;
    /**
     * Triton's preserve_ordering. Not a batching matter: the caller holds each answer back
     * until every request admitted before it has been answered (see ResponseOrder).
     */
    preserveOrdering?: boolean;
  };
}

export interface QueueView {
  /** Waiting requests in any order; the policy orders them itself (see queueOrder). */
  pending: readonly PendingRequest[];
  idleInstances: readonly number[];
  /** Batches on busy instances; with a profile they say when an instance frees up. Absent: soon. */
  running?: readonly RunningBatch[];
}

export interface Dispatch {
  instance: number;
  seqs: number[];
}

export interface Schedule {
  dispatch: Dispatch[];
  /** Waiting requests to answer with an error now; they are in no dispatch. */
  refuse: Refusal[];
  /** Ask again at this clock time even if nothing else happens (a batch's delay, a timeout or a deadline comes due). */
  wakeAt?: number;
}

export function schedule(view: QueueView, config: BatchingConfig, now: number, profile?: LatencyEstimator): Schedule {
  const idle = [...view.idleInstances];
  const expiry = expire(view.pending, now, earliestStart(view, now, profile), profile);
  // With every instance busy nothing can be dispatched, and the serving order would go unread:
  // under load that is most calls (one per arrival), and sorting the queue was their main cost.
  if (idle.length === 0) return expiry.wakeAt === undefined ? { dispatch: [], refuse: expiry.refuse } : { dispatch: [], refuse: expiry.refuse, wakeAt: expiry.wakeAt };
  const refused = new Set(expiry.refuse.map((r) => r.seq));
  const ordered = view.pending.filter((r) => !refused.has(r.seq)).sort(queueOrder(now));
  const dispatch: Dispatch[] = [];
  const taken = new Set<number>();
  let wakeAt = expiry.wakeAt ?? Infinity;

  for (const head of ordered) {
    if (idle.length === 0) break;
    if (taken.has(head.seq)) continue;
    const decision = decide(formBatch(head, ordered, taken, config, now, profile), config, now, profile);
    if ('run' in decision) {
      dispatch.push({ instance: idle.shift()!, seqs: decision.run });
      for (const s of decision.run) taken.add(s);
    } else {
      // The first group in serving order is still filling; later groups wait behind it, as in FIFO.
      wakeAt = Math.min(wakeAt, decision.waitUntil);
      break;
    }
  }
  return wakeAt === Infinity ? { dispatch, refuse: expiry.refuse } : { dispatch, refuse: expiry.refuse, wakeAt };
}

/** When the next batch could start: now if an instance is idle, else when the first busy one is predicted to finish. */
function earliestStart(view: QueueView, now: number, profile: LatencyEstimator | undefined): number {
  if (view.idleInstances.length > 0 || !view.running?.length || !profile) return now;
  let first = Infinity;
  for (const b of view.running) {
    const ms = profile.estimate(b.rows);
    if (ms === undefined) return now;
    first = Math.min(first, b.startedAt + ms);
  }
  return Math.max(now, first);
}

interface Formed {
  members: PendingRequest[];
  /** Total rows after each member, so a prefix can be taken. */
  rowsSoFar: number[];
  /** Waiting longer cannot make this batch bigger: a compatible request did not fit, or would make it late. */
  full: boolean;
}

/**
 * The head and the compatible requests after it in serving order, while the rows fit
 * max_batch_size and (with a profile) the batch, started now, is predicted to finish by the
 * earliest deadline among its members: the largest batch that keeps every promise in it.
 */
function formBatch(
  head: PendingRequest, ordered: readonly PendingRequest[], taken: ReadonlySet<number>,
  config: BatchingConfig, now: number, profile: LatencyEstimator | undefined,
): Formed {
  const formed: Formed = { members: [head], rowsSoFar: [head.batchSize], full: false };
  if (!config.dynamic || config.maxBatchSize === 0) return formed;
  let rows = head.batchSize;
  let earliest = head.deadline ?? Infinity;
  for (const r of ordered) {
    if (r === head || taken.has(r.seq) || r.shapeKey !== head.shapeKey) continue;
    const more = rows + r.batchSize;
    const by = Math.min(earliest, r.deadline ?? Infinity);
    const ms = by === Infinity ? undefined : profile?.estimate(more);
    if (more > config.maxBatchSize || (ms !== undefined && now + ms > by)) {
      formed.full = true;
      break;
    }
    formed.members.push(r);
    formed.rowsSoFar.push(more);
    rows = more;
    earliest = by;
  }
  if (rows >= config.maxBatchSize) formed.full = true;
  return formed;
}

type Decision = { run: number[] } | { waitUntil: number };

function decide(batch: Formed, config: BatchingConfig, now: number, profile: LatencyEstimator | undefined): Decision {
  const all = { run: batch.members.map((m) => m.seq) };
  const dyn = config.dynamic;
  if (!dyn) return all;
  const rows = batch.rowsSoFar[batch.rowsSoFar.length - 1]!;
  const oldest = Math.min(...batch.members.map((m) => m.arrival));
  const earliest = Math.min(...batch.members.map((m) => m.deadline ?? Infinity));
  // Waiting past this start time would make the batch miss its earliest deadline.
  const latestStart = earliest - (profile?.estimate(rows) ?? 0);
  if (batch.full || dyn.preferredBatchSizes.includes(rows) || now >= oldest + dyn.maxQueueDelayMs || now >= latestStart) return all;
  // A preferred size that a prefix reaches runs now, as in Triton; the rest waits for more company.
  for (let k = batch.rowsSoFar.length - 1; k >= 0; k--) {
    if (dyn.preferredBatchSizes.includes(batch.rowsSoFar[k]!)) return { run: all.run.slice(0, k + 1) };
  }
  return { waitUntil: Math.min(oldest + dyn.maxQueueDelayMs, latestStart) };
}
