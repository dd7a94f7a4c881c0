/**
 * One model on one simulated node: its queue and instances, driven exactly as the live
 * ModelScheduler drives them. Admission is `admit`, each decision is `step` (which asks the
 * policy `schedule`), the wake-up timer follows `rearm`, each finished batch feeds a
 * LatencyProfile and the admission margin (Lateness), and preserve_ordering releases answers through ResponseOrder. The only
 * differences are the ones of a simulation: a batch takes what the cost model says instead
 * of running, and a timer is an event in the queue instead of a setTimeout.
 */
import type { Rng } from '../bench/random.js';
import { admit } from '../scheduling/admission.js';
import type { BatchingConfig, PendingRequest } from '../scheduling/policy.js';
import { LatencyProfile } from '../scheduling/profile.js';
import { ResponseOrder } from '../scheduling/response-order.js';
import type { QueueRules } from '../scheduling/rules.js';
import { type Instances, admissionView, finish, instances, rearm, recordLateness, step } from '../scheduling/step.js';
import { Lateness } from '../scheduling/lateness.js';
import { CostModel, type ModelCost, batchingConfig, profilePoints, queueRules } from './cost-model.js';

/** A request in the simulation: the queue's PendingRequest plus where it came from. */
export interface SimRequest extends PendingRequest {
  id: number;
  /** Intended send time at the client, ms. */
  atMs: number;
  model: number;
  node: number;
  /** Latency objective for goodput (the workload's deadline_ms), not a scheduling parameter. */
  objectiveMs: number | undefined;
  /** Scheduling parameters as a request would carry them (Triton's units). */
  params: SchedulingParams | undefined;
}

export interface SchedulingParams {
  priority?: number;
  timeoutMicroseconds?: number;
  deadlineMicroseconds?: number;
}

export const EVENT = { batchDone: 1, wake: 2, loadDone: 3, reachNode: 4, pathDone: 5, computeDone: 6, loopIdle: 7 } as const;

/** What a queue needs from the simulation around it. */
export interface Engine {
  readonly serviceRng: Rng;
  /** A number never handed out before in this run, to tell a current timer from a cleared one. */
  nextId(): number;
  schedule(t: number, kind: number, a: number, b: number, c: number): void;
  /** An instance of model `model` on `node` computes for `ms` (at full speed); computeDone follows. */
  compute(node: number, model: number, instance: number, ms: number, now: number): void;
  /** A request is answered on its node at `now`: ok, or refused. */
  answer(r: SimRequest, now: number, refusal?: SimRefusal): void;
  /** Reserves the node's event loop for the answers of `n` requests of `model` whose batch finished at `now`: when it gets to them. */
  loopAnswers(node: number, model: number, now: number, n: number): number;
  /** Loop time per answer of the last reservation. */
  readonly answerStep: number;
  /** An instance of `node` ran a batch from `startedAt` to `now`. */
  ran(node: number, startedAt: number, now: number): void;
  readonly trace?: SimTrace;
}

/** An error answer: the kind the client is told, why (as the scheduler's metrics say it), and the message. */
export interface SimRefusal {
  kind: string;
  reason: string;
  message: string;
}

/** Decisions as they are made and answers as they leave the node, for tests that compare the simulator with the live scheduler. */
export interface SimTrace {
  dispatch(t: number, node: number, model: string, instance: number, ids: number[]): void;
  answer(t: number, id: number, refusal?: SimRefusal): void;
}

export class ModelQueue {
  private readonly queue: SimRequest[] = [];
  private readonly slots: Instances;
  private readonly running: Array<SimRequest[] | undefined>;
  private readonly batching: BatchingConfig;
  private readonly rules: QueueRules;
  private readonly profile: LatencyProfile;
  private readonly lateness = new Lateness();
  private readonly order: ResponseOrder | undefined;
  private readonly held = new Map<number, { r: SimRequest; refusal?: SimRefusal }>();
  private nextSeq = 0;
  private timerAt = Infinity;
  private timerGen = -1;
  private runningRequests = 0;
  /** Per instance: loop time per answer of its finished batch. */
  private readonly answerStep: Float64Array;
  /** Per instance: when its last batch finished computing (its threads went to sleep then). */
  private readonly idleSince: Float64Array;
  /** Per instance: when the loop gets to the message that its batch is done; NaN once the batch is seen done. */
  private readonly doneAt: Float64Array;

  constructor(
    private readonly engine: Engine,
    readonly node: number,
    readonly modelIx: number,
    readonly cost: ModelCost,
    private readonly costModel: CostModel,
    /** Overrides the cost model (tests that replay given service times). */
    private readonly serviceMs?: (rows: number) => number,
  ) {
    this.slots = instances(cost.instances);
    this.running = this.slots.busy.map(() => undefined);
    this.answerStep = new Float64Array(cost.instances);
    this.idleSince = new Float64Array(cost.instances).fill(-Infinity);
    this.doneAt = new Float64Array(cost.instances).fill(NaN);
    this.batching = batchingConfig(cost);
    this.rules = queueRules(cost);
    // Seeded from the cost model, as a warmed-up live profile would be; it keeps learning as live.
    this.profile = LatencyProfile.from(profilePoints(cost));
    this.order = this.batching.dynamic?.preserveOrdering ? new ResponseOrder() : undefined;
  }

  /** Queued, running or held for ordering: the model may not be evicted. */
  get busy(): boolean {
    return this.queue.length > 0 || this.runningRequests > 0 || this.held.size > 0;
  }

  arrive(r: SimRequest, now: number): void {
    this.collect(now);
    const p = r.params;
    const a = admit(admissionView(this.queue, this.slots, this.batching, this.lateness.marginMs(now)), {
      arrival: r.arrival, batchSize: r.batchSize,
      ...(p ? { priority: p.priority, timeoutMicroseconds: p.timeoutMicroseconds, deadlineMicroseconds: p.deadlineMicroseconds } : {}),
    }, this.rules, this.profile, now);
    if (!a.admitted) {
      this.engine.answer(r, now, { kind: a.kind, reason: a.reason, message: a.message });
      return;
    }
    r.seq = this.nextSeq++;
    Object.assign(r, a.ticket);
    this.order?.track(r.seq);
    this.queue.push(r);
    this.pump(now);
  }

  wake(gen: number, now: number): void {
    if (gen !== this.timerGen || this.timerAt === Infinity) return; // re-armed since: a cleared timer
    this.timerAt = Infinity;
    this.pump(now);
  }

  /** The instance has computed its batch; the scheduler hears of it when the node's loop gets to the worker's message. */
  computeDone(instance: number, now: number): void {
    this.idleSince[instance] = now;
    const at = this.engine.loopAnswers(this.node, this.modelIx, now, this.running[instance]!.length);
    this.answerStep[instance] = this.engine.answerStep;
    this.doneAt[instance] = at;
    if (at === now) this.seeDone(instance, now, now);
    else this.engine.schedule(at, EVENT.batchDone, this.node, this.modelIx, instance);
  }

  /** The loop got to the worker's message, unless an arrival collected it first (then this is stale). */
  batchDone(instance: number, now: number): void {
    if (this.doneAt[instance] === now) this.seeDone(instance, now, now);
  }

  /**
   * As live, an arrival first collects the batches whose workers have posted their results
   * (ModelScheduler.submit, BackendSession.collect): each is seen done now, not when the loop
   * would have reached its message, though its answers still leave when the loop gets to them.
   */
  private collect(now: number): void {
    for (let i = 0; i < this.doneAt.length; i++) {
      const at = this.doneAt[i]!;
      if (at > now) this.seeDone(i, now, at);
    }
  }

  /** As live: the batch's time as the scheduler saw it feeds the profile, the instance is free, and the answers are encoded one by one from `answersFrom`. */
  private seeDone(instance: number, now: number, answersFrom: number): void {
    this.doneAt[instance] = NaN;
    const batch = this.running[instance]!;
    const started = this.slots.running[instance]!;
    this.profile.observe(started.rows, now - started.startedAt, now);
    recordLateness(this.lateness, batch, now);
    this.engine.ran(this.node, started.startedAt, now);
    const step = this.answerStep[instance]!;
    for (let k = 0; k < batch.length; k++) this.settle(batch[k]!, answersFrom + (k + 1) * step);
    this.running[instance] = undefined;
    finish(this.slots, instance);
    this.runningRequests -= batch.length;
    this.pump(now);
  }

  private pump(now: number): void {
    if (this.queue.length === 0) return;
    const plan = step(this.queue, this.slots, this.batching, now, this.profile);
    for (const { item, refusal } of plan.refused) this.settle(item, now, refusal);
    for (const d of plan.dispatched) {
      this.running[d.instance] = d.batch;
      this.runningRequests += d.batch.length;
      const ms = this.serviceMs ? this.serviceMs(d.rows) : this.costModel.serviceMs(d.rows, this.engine.serviceRng, now - this.idleSince[d.instance]!);
      this.engine.trace?.dispatch(now, this.node, this.cost.name, d.instance, d.batch.map((r) => r.id));
      this.engine.compute(this.node, this.modelIx, d.instance, ms, now);
    }
    if (rearm(this.timerAt, plan.wakeAt)) {
      this.timerAt = plan.wakeAt;
      this.timerGen = this.engine.nextId();
      this.engine.schedule(plan.wakeAt, EVENT.wake, this.node, this.modelIx, this.timerGen);
    }
  }

  /** Answers now, or with preserve_ordering once every request admitted before it is answered. */
  private settle(r: SimRequest, now: number, refusal?: SimRefusal): void {
    if (!this.order) {
      this.engine.answer(r, now, refusal);
      return;
    }
    this.held.set(r.seq, refusal ? { r, refusal } : { r });
    for (const seq of this.order.settle(r.seq)) {
      const h = this.held.get(seq)!;
      this.held.delete(seq);
      this.engine.answer(h.r, now, h.refusal);
    }
  }
}
