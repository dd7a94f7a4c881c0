/**
 * The batching decision as a pure function: given what waits in one model's queue and which
 * instances are idle at time `now`, say which requests run together on which instance, and
 * when to be asked again. No timers, no I/O: the live scheduler and the simulator both call it.
 */

export interface PendingRequest {
  /** Identifies the request to the caller. */
  seq: number;
  /** Clock time it entered the queue. */
  arrival: number;
  /** Rows it contributes to a batch (its leading dimension; 1 for unbatched models). */
  batchSize: number;
  /** Requests may share a batch only when their keys are equal (same inputs, same non-batch shapes). */
  shapeKey: string;
}

export interface BatchingConfig {
  /** Largest total rows in one batch; 0 means the model takes no batch dimension. */
  maxBatchSize: number;
  /** Absent: no dynamic batching; each request runs alone. */
  dynamic?: {
    preferredBatchSizes: readonly number[];
    maxQueueDelayMs: number;
  };
}

export interface QueueView {
  /** Oldest first. */
  pending: readonly PendingRequest[];
  idleInstances: readonly number[];
}

export interface Dispatch {
  instance: number;
  seqs: number[];
}

export interface Schedule {
  dispatch: Dispatch[];
  /** Ask again at this clock time even if nothing else happens (a batch's delay runs out). */
  wakeAt?: number;
}

export function schedule(view: QueueView, config: BatchingConfig, now: number): Schedule {
  const dispatch: Dispatch[] = [];
  const idle = [...view.idleInstances];
  const taken = new Set<number>();
  let wakeAt: number | undefined;

  for (const head of view.pending) {
    if (idle.length === 0) break;
    if (taken.has(head.seq)) continue;
    const batch = formBatch(head, view.pending, taken, config);
    if (!config.dynamic || batchIsReady(batch, head, config, now)) {
      dispatch.push({ instance: idle.shift()!, seqs: batch.seqs });
      for (const s of batch.seqs) taken.add(s);
    } else {
      // The oldest compatible group is still filling; later groups wait behind it, as in FIFO.
      wakeAt = head.arrival + config.dynamic.maxQueueDelayMs;
      break;
    }
  }
  return wakeAt === undefined ? { dispatch } : { dispatch, wakeAt };
}

interface Formed {
  seqs: number[];
  rows: number;
  /** A compatible request did not fit, so waiting longer cannot make this batch bigger. */
  full: boolean;
}

function formBatch(head: PendingRequest, pending: readonly PendingRequest[], taken: ReadonlySet<number>, config: BatchingConfig): Formed {
  const formed: Formed = { seqs: [head.seq], rows: head.batchSize, full: false };
  if (!config.dynamic || config.maxBatchSize === 0) return formed;
  for (const r of pending) {
    if (r === head || taken.has(r.seq) || r.shapeKey !== head.shapeKey) continue;
    if (formed.rows + r.batchSize > config.maxBatchSize) {
      formed.full = true;
      break;
    }
    formed.seqs.push(r.seq);
    formed.rows += r.batchSize;
  }
  if (formed.rows >= config.maxBatchSize) formed.full = true;
  return formed;
}

function batchIsReady(batch: Formed, head: PendingRequest, config: BatchingConfig, now: number): boolean {
  const dyn = config.dynamic!;
  if (batch.full) return true;
  if (dyn.preferredBatchSizes.includes(batch.rows)) return true;
  return now - head.arrival >= dyn.maxQueueDelayMs;
}
