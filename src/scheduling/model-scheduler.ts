import type { Clock } from '../core/clock.js';
import { ShoalError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { RunOptions } from '../backends/backend.js';
import type { SequenceControl } from './sequence.js';
import { FairShare, retag } from '../tenants/fair-share.js';
import { admit, resolveLevel } from './admission.js';
import type { BatchingConfig, PendingRequest } from './policy.js';
import { type Padding, concatBatch, paddedLengths, splitBatch } from './batch.js';
import { LatencyProfile } from './profile.js';
import { type ComputeSplit, timedRun } from './compute-split.js';
import { ResponseOrder } from './response-order.js';
import { NO_LIMITS, type QueueRules } from './rules.js';
import { type Instances, admissionView, finish, instances, recordLateness, step, takeCancelled } from './step.js';
import { Lateness } from './lateness.js';
import { WakeTimer } from './wake-timer.js';

/** Runs one batch; an instance runs one at a time. */
export interface BatchRunner {
  run(inputs: Tensor[], outputNames: string[], opts?: RunOptions): Promise<Tensor[]>;
  /**
   * Settles now the runs that have finished but whose results wait to be delivered
   * (BackendSession.collect). Called as each request arrives, so that a finished instance takes
   * its next batch before the event loop has served every other socket of its turn.
   */
  collect?(): void;
}

export interface Job {
  /** Inputs in the model's input order. */
  inputs: Tensor[];
  batchSize: number;
  shapeKey: string;
  /** True once the request's client has gone away: a job still waiting is then dropped unrun. Read only for jobs that have waited. */
  readonly cancelled?: boolean;
  /** Clock time (ms) the request arrived; timeouts and deadlines count from here. Absent: when submitted. */
  arrival?: number;
  /** Triton's `priority`: 1 the highest; 0 or absent: the model's default level. */
  priority?: number;
  /** Triton's `timeout`, µs: may shorten the level's queue timeout where its policy allows. */
  timeoutMicroseconds?: number;
  /** Deadline in µs after arrival; 0 or absent: the model's default (slo.default_deadline_microseconds). */
  deadlineMicroseconds?: number;
  /** Whose request it is; tenants share a priority level by weight. Absent: no tenants. */
  tenant?: { name: string; weight: number };
  /** Its sequence, for a model with sequence_batching (SequenceScheduler); others refuse it. */
  sequence?: SequenceControl;
  /** Its inputs' memory is its own and unread after dispatch (InferRequest.inputsMovable). */
  readonly inputsMovable?: boolean;
}

/** What the model manager and the service need of a version's scheduler, plain or sequence. */
export interface Scheduler {
  submit(job: Job): Promise<JobResult>;
  whenIdle(): Promise<void>;
  readonly queueDepth: number;
  readonly inFlight: number;
  /** The model's ragged batching, which request shape keys must follow. */
  readonly padding?: Padding | undefined;
}

export interface JobResult {
  outputs: Tensor[];
  queueMs: number;
  computeMs: number;
  /** The same time in Triton's three parts (compute-split.ts). */
  compute: ComputeSplit;
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
  onBatch?: (rows: number, compute: ComputeSplit) => void;
  /** Ragged batching (`paddingOf`): requests whose shape keys allow it are padded to share a batch. */
  padding?: Padding | undefined;
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
export class ModelScheduler implements Scheduler {
  private readonly queue: Waiting[] = [];
  /** Which instances are busy and with what batch (for predicting when they free up). */
  private readonly slots: Instances;
  private nextSeq = 0;
  private readonly wake: WakeTimer;
  private runningJobs = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly rules: QueueRules;
  private readonly profile: LatencyProfile;
  /** With preserve_ordering: answers wait here until every request admitted before theirs is answered. */
  private readonly order: ResponseOrder | undefined;
  private readonly held = new Map<number, () => void>();
  /** Virtual start times for tenants' requests (weighted fair queuing). */
  private readonly fair = new FairShare();
  /** How much later than predicted requests finish, as admission's margin. */
  private readonly lateness = new Lateness();

  constructor(private readonly runners: readonly BatchRunner[], private readonly opts: SchedulerOptions) {
    this.slots = instances(runners.length);
    this.wake = new WakeTimer(opts.clock, () => this.pump());
    this.rules = opts.rules ?? {
      priorityLevels: 0, defaultLevel: 1, defaultRules: NO_LIMITS, levelRules: {}, defaultDeadlineMs: 0, maxQueueSize: opts.maxQueueSize ?? 0,
    };
    this.profile = opts.profile ?? new LatencyProfile();
    this.order = opts.batching.dynamic?.preserveOrdering ? new ResponseOrder() : undefined;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get padding(): Padding | undefined {
    return this.opts.padding;
  }

  get inFlight(): number {
    return this.queue.length + this.runningJobs;
  }

  submit(job: Job): Promise<JobResult> {
    // Results already back but not yet delivered free their instances before this request is judged.
    for (const r of this.runners) r.collect?.();
    const now = this.opts.clock.now();
    const arrival = job.arrival ?? now;
    const tenant = job.tenant;
    const level = tenant === undefined ? undefined : resolveLevel(job.priority, this.rules);
    const fairTag = typeof level === 'number' ? this.fair.startTag(level, tenant!.name, this.queue) : undefined;
    const a = admit(
      admissionView(this.queue, this.slots, this.opts.batching, this.lateness.marginMs(now)),
      {
        arrival, batchSize: job.batchSize, priority: job.priority,
        timeoutMicroseconds: job.timeoutMicroseconds, deadlineMicroseconds: job.deadlineMicroseconds,
        tenant: tenant?.name, fairTag,
      },
      this.rules, this.profile, now,
    );
    if (!a.admitted) return Promise.reject(new ShoalError(a.kind, a.message, a.retryAfterSeconds, a.reason));
    if (fairTag !== undefined) this.fair.commit(level as number, tenant!.name, tenant!.weight, job.batchSize, fairTag);
    return new Promise<JobResult>((resolve, reject) => {
      const w: Waiting = { seq: this.nextSeq++, arrival, batchSize: job.batchSize, shapeKey: job.shapeKey, ...a.ticket, job, resolve, reject };
      if (fairTag !== undefined) for (const c of retag(this.queue, w)) c.request.fairTag = c.fairTag;
      this.order?.track(w.seq);
      this.queue.push(w);
      this.pump(w);
    });
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
    // Whose client has gone matters once an instance could run them: asking every waiting job on
    // every arrival, while all instances are busy, was most of this call's time under load.
    if (this.slots.busy.includes(false)) this.dropCancelled(fresh);
    const now = this.opts.clock.now();
    const plan = step(this.queue, this.slots, this.opts.batching, now, this.profile);
    for (const { item: w, refusal: r } of plan.refused) this.answer(w, () => w.reject(new ShoalError(r.kind, r.message, undefined, r.reason)));
    for (const d of plan.dispatched) void this.execute(d.instance, d.batch, d.rows, now);
    this.wake.arm(plan.wakeAt);
    this.notifyIdle();
  }

  /** Answers, without running them, the waiting jobs whose client has gone (see takeCancelled). */
  private dropCancelled(fresh: Waiting | undefined): void {
    for (const w of takeCancelled(this.queue, fresh)) this.answer(w, () => w.reject(clientGone()));
  }

  /** `step` has marked the instance busy with this batch. */
  private async execute(instance: number, batch: Waiting[], totalRows: number, dispatchedAt: number): Promise<void> {
    this.runningJobs += batch.length;
    const rows = batch.map((w) => w.job.batchSize);
    const start = this.opts.clock.now();
    try {
      const padding = batch.length > 1 ? this.opts.padding : undefined;
      const inputs = concatBatch(batch.map((w) => w.job.inputs), padding);
      // A joined batch is new memory of its own; a lone job's inputs are movable if its request says so.
      const inputsMovable = batch.length > 1 || batch[0]!.job.inputsMovable === true;
      const { outputs, end, computeMs, compute } = await timedRun(this.runners[instance]!, inputs, this.opts.outputNames, { inputsMovable }, this.opts.clock, start);
      this.profile.observe(totalRows, computeMs, end);
      recordLateness(this.lateness, batch, end);
      this.opts.onBatch?.(totalRows, compute);
      const parts = splitBatch(outputs, rows, padding, padding && batch.map((w) => paddedLengths(w.job.inputs, padding)));
      batch.forEach((w, k) => this.answer(w, () => w.resolve({ outputs: parts[k]!, queueMs: dispatchedAt - w.arrival, computeMs, compute, batchRows: totalRows })));
    } catch (e) {
      const err = e instanceof ShoalError ? e : new ShoalError('internal', (e as Error).message);
      for (const w of batch) this.answer(w, () => w.reject(err));
    } finally {
      finish(this.slots, instance);
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

/** The answer to a request whose client left before it ran. */
export function clientGone(): ShoalError {
  return new ShoalError('cancelled', 'the client closed the connection before the request ran');
}
