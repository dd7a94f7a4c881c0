/**
 * The nodes' cores, when the profile says how many a node has: then an instance computes at
 * full speed only while a core is free for it. The event loop goes first (the workers run at
 * nice 5, the loop at 0), other work on the machine holds `background` cores, and what is
 * left is shared by the instances computing at the time, each getting at least MIN_SHARE of
 * a core. A batch's time in the cost model is its time with a core to itself; here it is work
 * done at the speed its share allows, so a batch that overlaps a busy loop takes longer.
 * Where the profile measured a model under contention (its `contended` point), a batch also
 * carries the speed drawn from that measurement, and goes no faster while the loop works:
 * the even share above is what the cores can give, the measured speed what the scheduler's
 * slices gave one niced batch beside one busy thread, which was far less in its slow runs.
 * Without `cores` nothing is shared and a batch takes its time.
 */
import { EVENT } from './model-queue.js';

/**
 * The share of a core the scheduler gives a nice-5 thread beside one nice-0 thread: CFS weighs
 * them 335 against 1024 (kernel/sched/core.c, sched_prio_to_weight).
 */
export const MIN_SHARE = 335 / (335 + 1024);

interface Computing {
  model: number;
  instance: number;
  /** Work left at `since`, ms at full speed. */
  work: number;
  since: number;
  finishAt: number;
  /** Its speed while the loop works, at most (1: only the even share limits it). */
  contended: number;
  /** Its speed since `since`. */
  speed: number;
}

export class NodeCpus {
  private readonly computing: Computing[][];
  /** Per node: the time a loopIdle event is pending for, or -1. */
  private readonly armed: Float64Array;

  constructor(
    nodes: number,
    private readonly cores: number,
    private readonly background: number,
    /** When the node's loop runs out of the work it has. */
    private readonly loopFreeAt: (node: number) => number,
    private readonly schedule: (t: number, kind: number, a: number, b: number, c: number) => void,
  ) {
    this.computing = Array.from({ length: nodes }, () => []);
    this.armed = new Float64Array(nodes).fill(-1);
  }

  /**
   * An instance starts `workMs` of compute, going at most at `contended` of its speed while the
   * loop works; its computeDone event comes when the work is done.
   */
  start(node: number, model: number, instance: number, workMs: number, now: number, contended = 1): void {
    this.advance(node, now);
    this.computing[node]!.push({ model, instance, work: workMs, since: now, finishAt: Infinity, contended, speed: 1 });
    this.reschedule(node, now);
  }

  /** Whether a computeDone event is the current one for its instance (true: the computation is over). */
  done(node: number, model: number, instance: number, t: number): boolean {
    const list = this.computing[node]!;
    const i = list.findIndex((c) => c.model === model && c.instance === instance);
    if (i < 0 || list[i]!.finishAt !== t) return false;
    this.advance(node, t);
    list.splice(i, 1);
    this.reschedule(node, t);
    return true;
  }

  /** The node's loop has started working after being idle. */
  loopStarted(node: number, now: number): void {
    if (this.computing[node]!.length === 0) return;
    this.advance(node, now);
    this.reschedule(node, now);
  }

  /** A loopIdle event: the loop may have run out of work (or been given more since the event was set). */
  loopIdle(node: number, t: number): void {
    if (this.armed[node] !== t) return;
    this.armed[node] = -1;
    if (this.computing[node]!.length === 0) return;
    this.advance(node, t);
    this.reschedule(node, t);
  }

  private advance(node: number, now: number): void {
    for (const c of this.computing[node]!) {
      c.work = Math.max(0, c.work - c.speed * (now - c.since));
      c.since = now;
    }
  }

  /** New finish times at the speed from `now`; while the loop works, a wake-up for when it stops. */
  private reschedule(node: number, now: number): void {
    const list = this.computing[node]!;
    if (list.length === 0) return;
    const loopUntil = this.loopFreeAt(node);
    const busy = loopUntil > now;
    const even = Math.min(1, Math.max(MIN_SHARE, (this.cores - this.background - (busy ? 1 : 0)) / list.length));
    for (const c of list) {
      const s = busy ? Math.min(even, c.contended) : even;
      c.speed = s;
      const at = now + c.work / s;
      if (at === c.finishAt) continue;
      c.finishAt = at;
      this.schedule(at, EVENT.computeDone, node, c.model, c.instance);
    }
    if (busy && this.armed[node] !== loopUntil) {
      this.armed[node] = loopUntil;
      this.schedule(loopUntil, EVENT.loopIdle, node, 0, 0);
    }
  }
}
