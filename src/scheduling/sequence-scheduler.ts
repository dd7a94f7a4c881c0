import type { Clock } from '../core/clock.js';
import { allocate } from '../core/datatype.js';
import { ShoalError, invalid } from '../core/errors.js';
import { type Tensor, elementCount } from '../core/tensor.js';
import { concatAlong, concatBatch, sliceAlong, splitBatch } from './batch.js';
import { type ComputeSplit, timedRun } from './compute-split.js';
import { type BatchRunner, type Job, type JobResult, type Scheduler, clientGone } from './model-scheduler.js';
import type { BatchingConfig, PendingRequest } from './policy.js';
import { SequenceBook, type SequenceControl, type SequenceId, type SequenceLimits, describeSequence, runnable } from './sequence.js';
import { type Instances, finish, instances, step, takeCancelled, takeSeqs } from './step.js';
import { WakeTimer } from './wake-timer.js';

/** One implicit state tensor as the scheduler handles it. */
export interface StateSpec {
  /** The model input that reads it and the output that gives the next one. */
  input: string;
  output: string;
  datatype: Exclude<Tensor['datatype'], 'BYTES'>;
  /** One sequence's state: the model's shape with 1 at `batchAxis`. */
  shape: number[];
  batchAxis: number;
}

export interface SequenceSchedulerOptions {
  /** Every output of the model, state outputs included. */
  outputNames: string[];
  /** Batches of requests of different sequences (Triton's Oldest strategy). */
  batching: BatchingConfig;
  states: StateSpec[];
  /** Inputs fed as they are to every batch (shoal's constant_input). */
  constants: Tensor[];
  limits: SequenceLimits;
  /** Waiting requests before new ones are refused (the server's cap); 0: none. */
  maxQueueSize: number;
  clock: Clock;
  onBatch?: (rows: number, compute: ComputeSplit) => void;
}

interface Waiting extends PendingRequest {
  job: Job;
  control: SequenceControl;
  sequence: SequenceId;
  resolve: (r: JobResult) => void;
  reject: (e: ShoalError) => void;
}

/**
 * A stateful model version's scheduler (Triton's sequence batcher, Oldest strategy): holds
 * each live sequence's state tensors between its requests and runs requests of different
 * sequences together, one per sequence per batch and in order within a sequence. Which
 * sequence is live, expiry, and which request may run come from the pure SequenceBook and
 * `runnable`; which of those run together from the same `schedule` policy as ModelScheduler.
 */
export class SequenceScheduler implements Scheduler {
  private readonly queue: Waiting[] = [];
  private readonly slots: Instances;
  private readonly book: SequenceBook;
  /** Per live sequence, its state tensors in `opts.states` order. */
  private readonly states = new Map<SequenceId, Tensor[]>();
  private readonly running = new Set<SequenceId>();
  private readonly stateOutputs: Set<string>;
  private nextSeq = 0;
  private readonly wake: WakeTimer;
  private runningJobs = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly runners: readonly BatchRunner[], private readonly opts: SequenceSchedulerOptions) {
    this.slots = instances(runners.length);
    // An idle sequence's expiry alone must not keep the process alive.
    this.wake = new WakeTimer(opts.clock, () => this.pump(), false);
    this.book = new SequenceBook(opts.limits);
    this.stateOutputs = new Set(opts.states.map((s) => s.output));
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.queue.length + this.runningJobs;
  }

  /** Sequences whose state is held now. */
  get liveSequences(): number {
    return this.book.liveCount;
  }

  submit(job: Job): Promise<JobResult> {
    const c = job.sequence;
    if (!c) return Promise.reject(invalid('this model keeps state across a sequence of requests: give the sequence_id parameter (and sequence_start: true on the first request)'));
    if (job.batchSize !== 1) return Promise.reject(invalid(`${describeSequence(c.id)}: a sequence request carries one row (batch size 1), got ${job.batchSize}`));
    // As ModelScheduler does: finished batches free their instances before this request is judged.
    for (const r of this.runners) r.collect?.();
    const now = this.opts.clock.now();
    this.expire(now);
    if (this.opts.maxQueueSize > 0 && this.queue.length >= this.opts.maxQueueSize) {
      return Promise.reject(new ShoalError('overloaded', `${this.queue.length} requests are waiting, the most this model version queues`, 1, 'queue_full'));
    }
    const refused = this.book.arrive(c, now);
    if (refused) {
      const retry = refused.kind === 'overloaded' ? 1 : undefined;
      return Promise.reject(new ShoalError(refused.kind, refused.message, retry, refused.reason));
    }
    if (c.start) this.states.set(c.id, this.opts.states.map(initialState));
    return new Promise<JobResult>((resolve, reject) => {
      const arrival = job.arrival ?? now;
      this.queue.push({ seq: this.nextSeq++, arrival, batchSize: 1, shapeKey: job.shapeKey, job, control: c, sequence: c.id, resolve, reject });
      this.pump(this.queue[this.queue.length - 1]);
    });
  }

  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(fresh?: Waiting): void {
    const now = this.opts.clock.now();
    this.expire(now);
    this.dropCancelled(fresh);
    let wakeAt: number | undefined;
    if (this.queue.length > 0) {
      // step takes what it dispatches out of the list it is handed, a fresh one here.
      const plan = step(runnable(this.queue, this.running), this.slots, this.opts.batching, now);
      for (const { item: w, refusal: r } of plan.refused) {
        takeSeqs(this.queue, [w.seq]);
        this.settle(w, () => w.reject(new ShoalError(r.kind, r.message, undefined, r.reason)));
      }
      for (const d of plan.dispatched) {
        takeSeqs(this.queue, d.batch.map((w) => w.seq));
        void this.execute(d.instance, d.batch, now);
      }
      wakeAt = plan.wakeAt;
    }
    const expiry = this.book.nextExpiry();
    if (expiry !== undefined) wakeAt = Math.min(wakeAt ?? Infinity, expiry);
    this.wake.arm(wakeAt);
    this.notifyIdle();
  }

  private async execute(instance: number, batch: Waiting[], dispatchedAt: number): Promise<void> {
    this.runningJobs += batch.length;
    for (const w of batch) this.running.add(w.sequence);
    const start = this.opts.clock.now();
    try {
      const held = batch.map((w) => this.states.get(w.sequence)!);
      const states = this.opts.states.map((s, i) => ({ ...concatAlong(held.map((h) => h[i]!), s.batchAxis), name: s.input }));
      const inputs = [...concatBatch(batch.map((w) => w.job.inputs)), ...states, ...this.opts.constants];
      const { outputs, computeMs, compute } = await timedRun(this.runners[instance]!, inputs, this.opts.outputNames, {}, this.opts.clock, start);
      this.opts.onBatch?.(batch.length, compute);
      this.keepStates(batch, outputs);
      const parts = splitBatch(outputs.filter((o) => !this.stateOutputs.has(o.name)), batch.map(() => 1));
      batch.forEach((w, k) => this.settle(w, () => w.resolve({ outputs: parts[k]!, queueMs: dispatchedAt - w.arrival, computeMs, compute, batchRows: batch.length })));
    } catch (e) {
      // The states stay as they were: the failed requests changed nothing, and a client may send them again.
      const err = e instanceof ShoalError ? e : new ShoalError('internal', (e as Error).message);
      for (const w of batch) this.settle(w, () => w.reject(err));
    } finally {
      for (const w of batch) this.running.delete(w.sequence);
      finish(this.slots, instance);
      this.runningJobs -= batch.length;
      this.pump();
    }
  }

  /** Each sequence's next state, cut out of the batch's state outputs (copied, so no sequence holds the whole batch's buffer). */
  private keepStates(batch: readonly Waiting[], outputs: readonly Tensor[]): void {
    this.opts.states.forEach((s, i) => {
      const t = outputs.find((o) => o.name === s.output);
      const expected = s.shape.map((d, a) => (a === s.batchAxis ? batch.length : d));
      if (!t || t.shape.length !== expected.length || t.shape.some((d, a) => d !== expected[a])) {
        throw new ShoalError('internal', `the model gave state output '${s.output}' shape [${t?.shape.join(', ') ?? 'none'}], expected [${expected.join(', ')}]`);
      }
      batch.forEach((w, k) => {
        const next = sliceAlong(t, s.batchAxis, k, 1);
        const data = batch.length === 1 ? next.data : (next.data as Exclude<Tensor['data'], Uint8Array[]>).slice();
        this.states.get(w.sequence)![i] = { name: s.input, datatype: s.datatype, shape: next.shape, data };
      });
    });
  }

  /** Answers a request and tells the book; a sequence's end (answered or failed) frees its state. */
  private settle(w: Waiting, answer: () => void): void {
    if (this.book.settle(w.control, this.opts.clock.now())) this.states.delete(w.sequence);
    answer();
  }

  private expire(now: number): void {
    for (const id of this.book.expire(now)) this.states.delete(id);
  }

  /** Answers, without running them, the waiting requests whose client has gone (see takeCancelled). */
  private dropCancelled(fresh: Waiting | undefined): void {
    for (const w of takeCancelled(this.queue, fresh)) this.settle(w, () => w.reject(clientGone()));
  }

  private notifyIdle(): void {
    if (this.inFlight > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function initialState(s: StateSpec): Tensor {
  return { name: s.input, datatype: s.datatype, shape: [...s.shape], data: allocate(s.datatype, elementCount(s.shape)) };
}
