import type { QueueSummary } from './admission.js';
import { type BatchingConfig, type PendingRequest, type Refusal, type RunningBatch, schedule } from './policy.js';
import type { Lateness } from './lateness.js';
import type { LatencyEstimator } from './profile.js';

/**
 * Carrying a plan out on plain data: the part of driving the policies that the live
 * ModelScheduler and the simulator share, so that the two cannot drift apart. Given a model
 * version's queue and its instances, `step` asks the policy what to do at `now`, takes the
 * refused and dispatched requests out of the queue and marks the chosen instances busy;
 * the caller answers the refused, runs the batches and arms a wake-up with `rearm`.
 */

/** A model version's instances: which are busy, and with what (to predict when they free up). */
export interface Instances {
  busy: boolean[];
  running: Array<RunningBatch | undefined>;
}

export function instances(count: number): Instances {
  return { busy: Array.from({ length: count }, () => false), running: Array.from({ length: count }, () => undefined) };
}

export function runningBatches(inst: Instances): RunningBatch[] {
  const out: RunningBatch[] = [];
  for (const b of inst.running) if (b) out.push(b);
  return out;
}

/** What admission sees of a queue (see `admit`). */
export function admissionView(queue: readonly PendingRequest[], inst: Instances, batching: BatchingConfig, marginMs = 0): QueueSummary {
  return { pending: queue, running: runningBatches(inst), instances: inst.busy.length, batching, marginMs };
}

/** Feeds `lateness` with how late each request of a finished batch came in against its predicted finish. */
export function recordLateness(lateness: Lateness, batch: readonly PendingRequest[], finishedAt: number): void {
  for (const r of batch) if (r.predictedFinish !== undefined) lateness.observe(finishedAt - r.predictedFinish, finishedAt);
}

export interface Step<T> {
  /** Taken out of the queue, in the policy's order; answer each with its refusal. */
  refused: Array<{ item: T; refusal: Refusal }>;
  /** Taken out of the queue (members in queue order); their instances are now marked busy. */
  dispatched: Array<{ instance: number; batch: T[]; rows: number }>;
  /** Ask again at this time even if nothing else happens. */
  wakeAt?: number;
}

export function step<T extends PendingRequest>(queue: T[], inst: Instances, batching: BatchingConfig, now: number, profile?: LatencyEstimator): Step<T> {
  const idleInstances: number[] = [];
  for (let i = 0; i < inst.busy.length; i++) if (!inst.busy[i]) idleInstances.push(i);
  const plan = schedule({ pending: queue, idleInstances, running: runningBatches(inst) }, batching, now, profile);
  const out: Step<T> = { refused: [], dispatched: [] };
  if (plan.refuse.length > 0) {
    const taken = takeSeqs(queue, plan.refuse.map((r) => r.seq));
    for (const refusal of plan.refuse) {
      const item = taken.find((x) => x.seq === refusal.seq);
      if (item) out.refused.push({ item, refusal });
    }
  }
  for (const d of plan.dispatch) {
    const batch = takeSeqs(queue, d.seqs);
    let rows = 0;
    for (const r of batch) rows += r.batchSize;
    inst.busy[d.instance] = true;
    inst.running[d.instance] = { startedAt: now, rows };
    out.dispatched.push({ instance: d.instance, batch, rows });
  }
  if (plan.wakeAt !== undefined) out.wakeAt = plan.wakeAt;
  return out;
}

/** The instance's batch is done: it is idle again. */
export function finish(inst: Instances, instance: number): void {
  inst.busy[instance] = false;
  inst.running[instance] = undefined;
}

/**
 * One wake-up timer per queue, armed for the earliest time asked since it last fired: whether
 * a plan's `wakeAt` should replace the timer armed for `armedAt` (Infinity: none armed).
 */
export function rearm(armedAt: number, wakeAt: number | undefined): wakeAt is number {
  return wakeAt !== undefined && wakeAt < armedAt;
}

/** Removes the requests with these seqs from the queue; returns them in queue order. */
export function takeSeqs<T extends { seq: number }>(queue: T[], seqs: readonly number[]): T[] {
  if (seqs.length === 1) {
    const i = queue.findIndex((w) => w.seq === seqs[0]);
    return i < 0 ? [] : queue.splice(i, 1);
  }
  const wanted = new Set(seqs);
  const batch: T[] = [];
  let kept = 0;
  for (const w of queue) {
    if (wanted.has(w.seq)) batch.push(w);
    else queue[kept++] = w;
  }
  queue.length = kept;
  return batch;
}

/**
 * Takes out of the queue the requests whose client has gone, to be answered without running.
 * `fresh`, the request handed in by the same call, is left to the next look: a disconnect can be
 * learned only once the event loop turns, so a request that runs at once is never asked.
 */
export function takeCancelled<T extends { readonly job: { readonly cancelled?: boolean } }>(queue: T[], fresh?: T): T[] {
  const gone: T[] = [];
  let kept = 0;
  for (const w of queue) {
    if (w !== fresh && w.job.cancelled) gone.push(w);
    else queue[kept++] = w;
  }
  queue.length = kept;
  return gone;
}
