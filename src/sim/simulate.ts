/**
 * The discrete-event simulation of a cluster: arrivals from a workload, a router in front,
 * nodes with their models, queues and memory, a virtual clock that jumps from event to
 * event. Every decision is made by shoal's own policies (see model-queue.ts and node.ts);
 * what was measured goes into the same Recorder `shoal bench` fills, so the reports compare.
 * Deterministic for a seed: randomness comes from seeded substreams, events at equal times
 * run in the order they were scheduled, and an arrival goes after events already due then.
 */
import { type Recorder as RecorderType, type PointStats, Recorder } from '../bench/recorder.js';
import { type Rng, substream } from '../bench/random.js';
import type { Outcome } from '../bench/target.js';
import type { Arrival } from '../bench/workload.js';
import type { ErrorKind } from '../core/errors.js';
import { type EvictionPolicy, evictionPolicy } from '../models/eviction.js';
import { statusOf } from '../protocol/kserve/http-errors.js';
import type { ClusterView, Router } from '../routing/router.js';
import { ClientStallTimeline } from './client-stalls.js';
import { CostModel, type ModelCost, type NodeCosts, quantile } from './cost-model.js';
import { NodeCpus } from './cpu.js';
import { EventLoops } from './event-loop.js';
import { EventQueue } from './events.js';
import { EVENT, type Engine, type SchedulingParams, type SimRequest, type SimTrace } from './model-queue.js';
import { SimNode } from './node.js';
import { NodeTimeline } from './timeline.js';

/** An arrival, with the scheduling parameters and rows a request may carry. */
export interface SimArrival extends Arrival, SchedulingParams {
  batchSize?: number;
}

export interface SimulationOptions {
  models: readonly ModelCost[];
  /** Ascending by atMs. */
  arrivals: Iterable<SimArrival>;
  nodes: number;
  router: Router;
  /** Per node; absent: unlimited, and every model is resident everywhere from the start. */
  memoryBudgetBytes?: number;
  eviction?: EvictionPolicy;
  /** Each node's event loop and the wire around it (the profile's `node`); absent: neither takes any time. */
  node?: NodeCosts;
  /** One way, client to node and back; one figure for all nodes or one per node. */
  networkDelayMs?: number | readonly number[];
  seed: number;
  /** Draw service times from the profile's measured spread (default); false: always the median. */
  variation?: boolean;
  /** The measured window, as in `shoal bench`: requests whose send time lies in it count. */
  window: { startMs: number; endMs: number };
  binMs: number;
  sloMs?: number;
  /** A client gives up after this long (counted as a `timeout` error, as bench counts it). */
  timeoutMs?: number;
  rateHalfLifeMs?: number;
  /** Replaces the cost model's service times (tests). */
  serviceMs?: (model: string, rows: number) => number;
  trace?: SimTrace;
}

export interface NodeSummary {
  node: number;
  requests: number;
  /** Mean busy instances over the simulated time. */
  busyInstances: number;
  peakMemoryBytes: number;
  loads: number;
  evictions: number;
}

export interface SimulationResult {
  stats: PointStats;
  nodes: NodeSummary[];
  timeline: { binMs: number; busyInstances: number[][]; memoryBytes: number[][] };
  requests: number;
  events: number;
  /** Clock time of the last event, ms. */
  simulatedMs: number;
}

export function simulate(o: SimulationOptions): SimulationResult {
  if (!(o.nodes >= 1) || !Number.isInteger(o.nodes)) throw new Error(`nodes must be a whole number ≥ 1, got ${o.nodes}`);
  const modelIx = new Map(o.models.map((m, i) => [m.name, i]));
  const variation = o.variation ?? true;
  const costModels = o.models.map((m) => new CostModel(m, variation));
  const delays = Array.from({ length: o.nodes }, (_, i) => (typeof o.networkDelayMs === 'number' || o.networkDelayMs === undefined ? o.networkDelayMs ?? 0 : o.networkDelayMs[i] ?? 0));
  const recorder: RecorderType = new Recorder({
    windowStartMs: o.window.startMs, windowEndMs: o.window.endMs, binMs: o.binMs, connections: Number.MAX_SAFE_INTEGER,
    ...(o.sloMs !== undefined ? { sloMs: o.sloMs } : {}),
  });
  const events = new EventQueue();
  const timeline = new NodeTimeline(o.nodes, o.binMs);
  const outstanding = new Float64Array(o.nodes);
  const served = new Float64Array(o.nodes);
  // Requests on their way to a node, and through its loop's arrival pass: first in, first out per node.
  const transit = new Fifo(o.nodes);
  const path = new Fifo(o.nodes);
  const cores = o.node?.cores;
  // The loops tell the cores when they start working, and the cores ask the loops when they will stop.
  // The loops' stalls draw from a stream of their own, so that a profile with stalls leaves every other draw as it was.
  const loops = new EventLoops(o.nodes, o.node ?? { requestMs: 0, answerMs: 0, afterMs: 0, background: 0 },
    cores === undefined ? undefined : (node, now) => cpus!.loopStarted(node, now), variation ? substream(o.seed, 'stalls') : undefined);
  const cpus = cores === undefined ? undefined
    : new NodeCpus(o.nodes, cores, o.node?.background ?? 0, (node) => loops.freeAtOf(node), (t, kind, a, b, c) => events.push(t, kind, a, b, c));
  const arrivalPass = (o.node?.requestMs ?? 0) > 0;
  const wire = o.node?.wire;
  const wireRng: Rng = substream(o.seed, 'wire');
  // A stream of its own, so that a profile with client stalls leaves every other draw as it was.
  const clientStalls = o.node?.clientStalls && variation ? new ClientStallTimeline(o.node.clientStalls, substream(o.seed, 'client stalls')) : undefined;
  const routeRng: Rng = substream(o.seed, 'route');
  // A stream of its own, so that a profile with a contended point leaves every other draw as it was.
  const contentionRng: Rng = substream(o.seed, 'contention');
  const errorOutcomes = new Map<string, Outcome>();
  const OK: Outcome = { ok: true, bytes: 0 };
  let gens = 0;
  let eventCount = 0;
  let hasDeadlines = false;

  const engine: Engine & { memory(node: number, now: number, bytes: number): void } = {
    serviceRng: substream(o.seed, 'service'),
    nextId: () => gens++,
    schedule: (t, kind, a, b, c) => events.push(t, kind, a, b, c),
    compute(node, model, instance, ms, now) {
      if (cpus) cpus.start(node, model, instance, ms, now, costModels[model]!.contendedSpeed(contentionRng));
      else events.push(now + ms, EVENT.computeDone, node, model, instance);
    },
    answer(r, now, refusal) {
      o.trace?.answer(now, r.id, refusal);
      outstanding[r.node]!--;
      view.totalOutstanding--;
      let doneMs = now + delays[r.node]!;
      if (wire) doneMs += quantile(wire, wireRng());
      if (clientStalls) doneMs = clientStalls.readAt(doneMs);
      let outcome: Outcome = OK;
      if (refusal) outcome = errorOutcome(refusal.kind, refusal.message);
      else doneMs += o.models[r.model]!.overheadMs;
      if (o.timeoutMs !== undefined && doneMs - r.atMs > o.timeoutMs) {
        doneMs = r.atMs + o.timeoutMs;
        outcome = errorOutcome('timeout', `no answer within ${o.timeoutMs} ms`);
      }
      const model = o.models[r.model]!.name;
      if (r.objectiveMs !== undefined) recorder.onDone({ model, atMs: r.atMs, doneMs, outcome, deadlineMs: r.objectiveMs });
      else recorder.onDone({ model, atMs: r.atMs, doneMs, outcome });
    },
    loopAnswers: (node, model, now, n) => loops.answers(node, now, n, o.models[model]!.answerMs ?? 0),
    get answerStep() {
      return loops.step;
    },
    ran: (node, from, to) => timeline.busy(node, from, to),
    memory: (node, now, bytes) => timeline.memory(node, now, bytes),
    ...(o.trace ? { trace: o.trace } : {}),
  };
  const errorOutcome = (kind: string, message: string): Outcome => {
    const label = kind === 'timeout' ? 'timeout' : `HTTP ${statusOf(kind as ErrorKind)}`;
    let e = errorOutcomes.get(label);
    if (!e) errorOutcomes.set(label, (e = { ok: false, kind: label, detail: message }));
    return e;
  };

  const nodeOptions = {
    memoryBudgetBytes: o.memoryBudgetBytes ?? Infinity,
    eviction: o.eviction ?? evictionPolicy('lru'),
    rateHalfLifeMs: o.rateHalfLifeMs ?? 60_000,
    ...(o.serviceMs ? { serviceMs: o.serviceMs } : {}),
  };
  const nodes = Array.from({ length: o.nodes }, (_, i) => new SimNode(engine, i, o.models, costModels, nodeOptions));
  const view: ClusterView & { totalOutstanding: number } = {
    size: o.nodes,
    outstanding,
    totalOutstanding: 0,
    hasModel: (node, model) => nodes[node]!.hasModel(modelIx.get(model) ?? -1),
  };

  const arrive = (a: SimArrival): void => {
    const m = modelIx.get(a.model);
    if (m === undefined) throw new Error(`the workload sends to model '${a.model}', which the profile does not describe (it has ${[...modelIx.keys()].join(', ')})`);
    const node = o.router.route(a.model, view, routeRng);
    outstanding[node]!++;
    served[node]!++;
    view.totalOutstanding++;
    recorder.onSend(a.atMs, a.atMs);
    if (a.deadlineMs !== undefined) hasDeadlines = true;
    const hasParams = a.priority !== undefined || a.timeoutMicroseconds !== undefined || a.deadlineMicroseconds !== undefined;
    const r: SimRequest = {
      seq: -1, arrival: a.atMs + delays[node]!, batchSize: a.batchSize ?? 1, shapeKey: '',
      id: requests, atMs: a.atMs, model: m, node, objectiveMs: a.deadlineMs,
      params: hasParams ? { priority: a.priority, timeoutMicroseconds: a.timeoutMicroseconds, deadlineMicroseconds: a.deadlineMicroseconds } : undefined,
    };
    if (delays[node] === 0) reach(r, a.atMs);
    else {
      transit.push(node, r);
      events.push(r.arrival, EVENT.reachNode, node, 0, 0);
    }
  };

  /** At the node: through its loop's arrival pass, then to the model's queue. */
  const reach = (r: SimRequest, now: number): void => {
    const own = o.models[r.model]!.requestMs ?? 0;
    if (own === 0 && !arrivalPass) {
      nodes[r.node]!.arrive(r, now);
      return;
    }
    const done = loops.arrive(r.node, now, own);
    path.push(r.node, r);
    events.push(done, EVENT.pathDone, r.node, 0, 0);
  };

  const it = o.arrivals[Symbol.iterator]();
  let next = it.next();
  let now = 0;
  let requests = 0;
  for (;;) {
    if (!next.done && next.value.atMs < events.peekTime()) {
      if (next.value.atMs < now) throw new Error(`arrivals must come in time order: ${next.value.atMs} ms after ${now} ms`);
      now = next.value.atMs;
      arrive(next.value);
      requests++;
      next = it.next();
      continue;
    }
    if (!events.pop()) break;
    eventCount++;
    now = events.t;
    const node = nodes[events.a]!;
    switch (events.kind) {
      case EVENT.computeDone:
        if (!cpus || cpus.done(events.a, events.b, events.c, now)) node.computeDone(events.b, events.c, now);
        break;
      case EVENT.loopIdle:
        cpus!.loopIdle(events.a, now);
        break;
      case EVENT.batchDone:
        node.batchDone(events.b, events.c, now);
        break;
      case EVENT.wake:
        node.wake(events.b, events.c, now);
        break;
      case EVENT.loadDone:
        node.loadDone(events.b, events.c, now);
        break;
      case EVENT.reachNode:
        reach(transit.shift(events.a), now);
        break;
      case EVENT.pathDone:
        node.arrive(path.shift(events.a), now);
        break;
    }
  }

  const stats = recorder.summary(hasDeadlines);
  const bins = Math.max(1, Math.ceil(now / o.binMs));
  const series = timeline.series(bins);
  const span = Math.max(now, 1e-9);
  return {
    stats,
    nodes: nodes.map((n, i) => ({
      node: i,
      requests: served[i]!,
      busyInstances: series.busyInstances[i]!.reduce((s, b) => s + b * o.binMs, 0) / span,
      peakMemoryBytes: Math.max(0, ...series.memoryBytes[i]!),
      loads: n.loads,
      evictions: n.evictions,
    })),
    timeline: { binMs: o.binMs, ...series },
    requests,
    events: eventCount,
    simulatedMs: now,
  };
}

/** One first-in first-out line of requests per node. */
class Fifo {
  private readonly items: SimRequest[][];
  private readonly heads: Int32Array;

  constructor(nodes: number) {
    this.items = Array.from({ length: nodes }, () => []);
    this.heads = new Int32Array(nodes);
  }

  push(node: number, r: SimRequest): void {
    this.items[node]!.push(r);
  }

  shift(node: number): SimRequest {
    const q = this.items[node]!;
    const h = this.heads[node]!;
    const r = q[h]!;
    this.heads[node] = h + 1;
    // Drop the consumed front now and then, so a long run does not keep every request.
    if (h + 1 > 1024 && (h + 1) * 2 > q.length) {
      q.splice(0, h + 1);
      this.heads[node] = 0;
    }
    return r;
  }
}
