import type { Clock } from '../core/clock.js';
import { ShoalError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { admit } from './admission.js';
import { type BatchingConfig, type PendingRequest, type RunningBatch, schedule } from './policy.js';
import { concatBatch, splitBatch } from './batch.js';
import { LatencyProfile } from './profile.js';
import { ResponseOrder } from './response-order.js';
import { NO_LIMITS, type QueueRules } from './rules.js';

/** Runs one batch; an instance runs one at a time. */
export interface BatchRunner {
  run(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]>;
}

export interface Job {
  /** Inputs in the model's input order. */
  inputs: Tensor[];
  batchSize: number;
  shapeKey: string;
  signal?: AbortSignal;
  /** Clock time (ms) the request arrived; timeouts and deadlines count from here. Absent: when submitted. */
  arrival?: number;
  /** Triton's `priority`: 1 the highest; 0 or absent: the model's default level. */
  priority?: number;
  /** Triton's `timeout`, µs: may shorten the level's queue timeout where its policy allows. */
  timeoutMicroseconds?: number;
  /** Deadline in µs after arrival; 0 or absent: the model's default (slo.default_deadline_microseconds). */
  deadlineMicroseconds?: number;
}

export interface JobResult {
  outputs: Tensor[];
  queueMs: number;
  computeMs: number;
  /** Rows in the batch this job ran in. */
  batchRows: number;
}

export interface SchedulerOptions {
  /** Every output of the model, in order: batch members may ask for different ones, so all are computed. */
  outputNames: string[];
  batching: BatchingConfig;
  /** Priority levels, queue policies, deadlines and the server's cap on waiting requests. Absent: one queue capped at `maxQueueSize`. */
  rules?: QueueRules;
  /** Only when `rules` is absent: waiting requests before new ones are refused; absent or 0: no cap. */
  maxQueueSize?: number;
  /** Learns compute time per batch size, so admission and batching can plan by predicted finish times. Absent: a fresh one. */
  profile?: LatencyProfile;
  clock: Clock;
  /** Told once per executed batch, for statistics. */
  onBatch?: (rows: number, computeMs: number) => void;
}

interface Waiting extends PendingRequest {
  job: Job;
  resolve: (r: JobResult) => void;
  reject: (e: ShoalError) => void;
}

/**
 * One model version's queue and instances. It asks the pure policy what to run and carries
 * the answer out: concatenates, runs on an idle instance, splits, answers each request.
 */
export class ModelScheduler {
  private readonly queue: Waiting[] = [];
  private readonly busy: boolean[];
  private nextSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private runningJobs = 0;
  private idleWaiters: Array<() => void> = [];
  /** Per instance, the batch it runs (undefined when idle): for predicting when it frees up. */
  private readonly runningBatches: Array<RunningBatch | undefined>;
  private readonly rules: QueueRules;
  private readonly profile: LatencyProfile;
  /** With preserve_ordering: answers wait here until every request admitted before theirs is answered. */
  private readonly order: ResponseOrder | undefined;
  private readonly held = new Map<number, () => void>();

  constructor(private readonly instances: readonly BatchRunner[], private readonly opts: SchedulerOptions) {
    this.busy = instances.map(() => false);
    this.runningBatches = instances.map(() => undefined);
    this.rules = opts.rules ?? {
      priorityLevels: 0, defaultLevel: 1, defaultRules: NO_LIMITS, levelRules: {}, defaultDeadlineMs: 0, maxQueueSize: opts.maxQueueSize ?? 0,
    };
    this.profile = opts.profile ?? new LatencyProfile();
    this.order = opts.batching.dynamic?.preserveOrdering ? new ResponseOrder() : undefined;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.queue.length + this.runningJobs;
  }

  submit(job: Job): Promise<JobResult> {
    const now = this.opts.clock.now();
    const arrival = job.arrival ?? now;
    const a = admit(
      { pending: this.queue, running: this.running(), instances: this.instances.length, batching: this.opts.batching },
      {
        arrival, batchSize: job.batchSize, priority: job.priority,
        timeoutMicroseconds: job.timeoutMicroseconds, deadlineMicroseconds: job.deadlineMicroseconds,
      },
      this.rules, this.profile, now,
    );
    if (!a.admitted) return Promise.reject(new ShoalError(a.kind, a.message, a.retryAfterSeconds, a.reason));
    return new Promise<JobResult>((resolve, reject) => {
      const w: Waiting = { seq: this.nextSeq++, arrival, batchSize: job.batchSize, shapeKey: job.shapeKey, ...a.ticket, job, resolve, reject };
      this.order?.track(w.seq);
      this.queue.push(w);
      this.pump(w);
    });
  }

  /** Batches on busy instances. */
  private running(): RunningBatch[] {
    const out: RunningBatch[] = [];
    for (const b of this.runningBatches) if (b) out.push(b);
    return out;
  }

  /** Resolves once nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** `fresh`: the job submitted in this same call, if any. */
  private pump(fresh?: Waiting): void {
    // An empty queue has nothing to decide (the policy would dispatch, refuse and wake for nothing).
    if (this.queue.length === 0) {
      this.notifyIdle();
      return;
    }
    this.dropCancelled(fresh);
    const idleInstances: number[] = [];
    for (let i = 0; i < this.busy.length; i++) if (!this.busy[i]) idleInstances.push(i);
    const now = this.opts.clock.now();
    const plan = schedule({ pending: this.queue, idleInstances, running: this.running() }, this.opts.batching, now, this.profile);
    if (plan.refuse.length > 0) {
      const refused = this.take(plan.refuse.map((r) => r.seq));
      for (const r of plan.refuse) {
        const w = refused.find((x) => x.seq === r.seq);
        if (w) this.answer(w, () => w.reject(new ShoalError(r.kind, r.message, undefined, r.reason)));
      }
    }
    for (const d of plan.dispatch) void this.execute(d.instance, this.take(d.seqs), now);
    this.armTimer(plan.wakeAt);
    this.notifyIdle();
  }

  /** Removes the jobs with these seqs from the queue; returns them in queue order. */
  private take(seqs: readonly number[]): Waiting[] {
    if (seqs.length === 1) {
      const i = this.queue.findIndex((w) => w.seq === seqs[0]);
      return i < 0 ? [] : this.queue.splice(i, 1);
    }
    const wanted = new Set(seqs);
    const batch: Waiting[] = [];
    let kept = 0;
    for (const w of this.queue) {
      if (wanted.has(w.seq)) batch.push(w);
      else this.queue[kept++] = w;
    }
    this.queue.length = kept;
    return batch;
  }

  /**
   * Rejects queued jobs whose signal has aborted. The job submitted in this same call is left to
   * the next look: its caller has just handed it in, a disconnect can be learned only once the
   * event loop turns, and reading a signal may be what makes it (the HTTP adapter makes them on
   * first read, as they are dear), so a job that runs at once never has one made.
   */
  private dropCancelled(fresh: Waiting | undefined): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const w = this.queue[i]!;
      if (w !== fresh && w.job.signal?.aborted) {
        this.queue.splice(i, 1);
        this.answer(w, () => w.reject(new ShoalError('cancelled', 'the client closed the connection before the request ran')));
      }
    }
  }

  private armTimer(at: number | undefined): void {
    if (at === undefined || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.timer = undefined;
      this.pump();
    }, Math.max(0, at - this.opts.clock.now()));
  }

  private async execute(instance: number, batch: Waiting[], dispatchedAt: number): Promise<void> {
    this.busy[instance] = true;
    this.runningJobs += batch.length;
    const rows = batch.map((w) => w.job.batchSize);
    const totalRows = rows.reduce((a, b) => a + b, 0);
    const start = this.opts.clock.now();
    this.runningBatches[instance] = { startedAt: start, rows: totalRows };
    try {
      const inputs = concatBatch(batch.map((w) => w.job.inputs));
      const outputs = await this.instances[instance]!.run(inputs, this.opts.outputNames);
      const computeMs = this.opts.clock.now() - start;
      this.profile.observe(totalRows, computeMs);
      this.opts.onBatch?.(totalRows, computeMs);
      const parts = splitBatch(outputs, rows);
      batch.forEach((w, k) => this.answer(w, () => w.resolve({ outputs: parts[k]!, queueMs: dispatchedAt - w.arrival, computeMs, batchRows: totalRows })));
    } catch (e) {
      const err = e instanceof ShoalError ? e : new ShoalError('internal', (e as Error).message);
      for (const w of batch) this.answer(w, () => w.reject(err));
    } finally {
      this.busy[instance] = false;
      this.runningBatches[instance] = undefined;
      this.runningJobs -= batch.length;
      this.pump();
    }
  }

  /** Settles an admitted job now, or, with preserve_ordering, once every job admitted before it is settled. */
  private answer(w: Waiting, settle: () => void): void {
    if (!this.order) {
      settle();
      return;
    }
    this.held.set(w.seq, settle);
    for (const seq of this.order.settle(w.seq)) {
      const go = this.held.get(seq);
      this.held.delete(seq);
      go?.();
    }
  }

  private notifyIdle(): void {
    if (this.inFlight > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
