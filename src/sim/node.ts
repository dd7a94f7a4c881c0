/**
 * A simulated node: the models resident on it, each with its queue, under a memory budget.
 * A request for a model that is not resident starts a load, after the node's eviction policy
 * (the model manager's own, src/models/eviction.ts) has chosen what to unload to make room;
 * loads take the profile's load time, one at a time per node as the backend runs them, and
 * the model's footprint counts from the load's start.
 * Requests that arrive while their model loads wait for it and are admitted when it is ready.
 */
import { type EvictionPolicy, RateMeter, type ResidentModel } from '../models/eviction.js';
import { CostModel, type ModelCost } from './cost-model.js';
import { EVENT, type Engine, ModelQueue, type SimRequest } from './model-queue.js';

export interface NodeOptions {
  /** Bytes of model footprint the node may hold; Infinity: every model is resident from the start. */
  memoryBudgetBytes: number;
  eviction: EvictionPolicy;
  /** Half-life of the request-rate estimate the cost-aware policy reads, ms. */
  rateHalfLifeMs: number;
  serviceMs?: (model: string, rows: number) => number;
}

interface Resident {
  queue: ModelQueue;
  /** Requests that came while it loads; undefined once ready. */
  waiting: SimRequest[] | undefined;
  loadGen: number;
  lastUsedAt: number;
  meter: RateMeter;
}

export class SimNode {
  private readonly resident: Array<Resident | undefined>;
  private usedBytes = 0;
  private loadGen = 0;
  /** Loads run one at a time, as OnnxBackend runs them, so that each one's memory growth is its own. */
  private loadFreeAt = 0;
  loads = 0;
  evictions = 0;

  constructor(
    private readonly engine: Engine & { memory(node: number, now: number, bytes: number): void },
    readonly id: number,
    private readonly models: readonly ModelCost[],
    private readonly costModels: readonly CostModel[],
    private readonly o: NodeOptions,
  ) {
    this.resident = models.map(() => undefined);
    if (o.memoryBudgetBytes === Infinity) for (let m = 0; m < models.length; m++) this.makeResident(m, 0, false);
  }

  hasModel(m: number): boolean {
    return this.resident[m] !== undefined;
  }

  get memoryBytes(): number {
    return this.usedBytes;
  }

  arrive(r: SimRequest, now: number): void {
    const res = this.resident[r.model] ?? this.load(r, now);
    if (!res) return;
    res.lastUsedAt = now;
    res.meter.record(now);
    if (res.waiting) res.waiting.push(r);
    else res.queue.arrive(r, now);
  }

  wake(m: number, gen: number, now: number): void {
    this.resident[m]?.queue.wake(gen, now);
  }

  computeDone(m: number, instance: number, now: number): void {
    this.resident[m]!.queue.computeDone(instance, now);
  }

  batchDone(m: number, instance: number, now: number): void {
    this.resident[m]!.queue.batchDone(instance, now);
  }

  loadDone(m: number, gen: number, now: number): void {
    const res = this.resident[m];
    if (!res || res.loadGen !== gen || !res.waiting) return;
    const waiting = res.waiting;
    res.waiting = undefined;
    for (const r of waiting) res.queue.arrive(r, now);
  }

  /** Makes room and starts loading the request's model; undefined (and the request refused) when it cannot fit. */
  private load(r: SimRequest, now: number): Resident | undefined {
    const cost = this.models[r.model]!;
    const victims = this.o.eviction.chooseVictims(this.residentList(now), cost.footprintBytes, this.o.memoryBudgetBytes, now);
    if (!victims) {
      this.engine.answer(r, now, {
        kind: 'unavailable', reason: 'memory',
        message: `model '${cost.name}' (${cost.footprintBytes} bytes) does not fit node ${this.id}'s memory budget of ${this.o.memoryBudgetBytes} bytes beside the models in use`,
      });
      return undefined;
    }
    for (const name of victims) {
      const m = this.models.findIndex((x) => x.name === name);
      this.usedBytes -= this.models[m]!.footprintBytes;
      this.resident[m] = undefined;
      this.evictions++;
    }
    this.loads++;
    return this.makeResident(r.model, now, true);
  }

  private makeResident(m: number, now: number, loading: boolean): Resident {
    const cost = this.models[m]!;
    const override = this.o.serviceMs;
    const queue = new ModelQueue(this.engine, this.id, m, cost, this.costModels[m]!, override ? (rows) => override(cost.name, rows) : undefined);
    const res: Resident = { queue, waiting: loading ? [] : undefined, loadGen: ++this.loadGen, lastUsedAt: now, meter: new RateMeter(this.o.rateHalfLifeMs) };
    this.resident[m] = res;
    this.usedBytes += cost.footprintBytes;
    this.engine.memory(this.id, now, this.usedBytes);
    if (loading) {
      this.loadFreeAt = Math.max(now, this.loadFreeAt) + cost.loadMs;
      this.engine.schedule(this.loadFreeAt, EVENT.loadDone, this.id, m, res.loadGen);
    }
    return res;
  }

  private residentList(now: number): ResidentModel[] {
    const out: ResidentModel[] = [];
    this.resident.forEach((res, m) => {
      if (!res) return;
      const cost = this.models[m]!;
      out.push({
        name: cost.name, footprintBytes: cost.footprintBytes, lastUsedAt: res.lastUsedAt, loadMs: cost.loadMs,
        recentRate: res.meter.rate(now), busy: res.waiting !== undefined || res.queue.busy, pinned: false,
      });
    });
    return out;
  }
}
