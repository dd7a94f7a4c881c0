/**
 * The nodes' event loops. A shoal node does its HTTP, decoding and encoding on one thread, and
 * the scheduler hears that a batch has finished when that thread reads the worker's message (or
 * collects it as a request for the model arrives: ModelQueue): so a request waits for the loop
 * twice, on arrival and on its answer, and an instance stays taken until the scheduler has seen
 * its batch finish. The loop serves one piece of work at a
 * time in the order it came (libuv's poll phase hands ready events over in turn), and each
 * piece's length is known when it comes, so a loop is only the time it is next free.
 *
 * With the profile's `stalls`, the loop also stops now and then outside any one request's work
 * (a collection; its thread waiting for a core other threads hold): after an answer, with the
 * measured probability per request, for a drawn time. Whatever comes meanwhile waits, which is
 * how one stall delays every request on the node, not one.
 */
import type { Rng } from '../bench/random.js';
import { type NodeCosts, quantile } from './cost-model.js';

/** Told when a loop starts working after being idle. */
export type LoopWatcher = (node: number, now: number) => void;

export class EventLoops {
  private readonly freeAt: Float64Array;
  /** Loop time per answer of the pass `answers` reserved last. */
  step = 0;

  constructor(nodes: number, private readonly costs: NodeCosts, private readonly watcher?: LoopWatcher, private readonly stallRng?: Rng) {
    this.freeAt = new Float64Array(nodes);
  }

  /** When the loop runs out of the work it has now. */
  freeAtOf(node: number): number {
    return this.freeAt[node]!;
  }

  /** The arrival pass of a request that reaches `node` at `now`, with `ownMs` of its model's own work: when it ends. */
  arrive(node: number, now: number, ownMs: number): number {
    const start = this.startOf(node, now);
    return this.occupy(node, now, start, start + this.costs.requestMs + ownMs);
  }

  /**
   * The answer pass of `n` requests whose batch finished at `now`, with `ownMs` of their model's
   * own work each: when it starts. Each answer then takes `step` until it leaves, and the loop
   * stays busy with each one's after-work.
   */
  answers(node: number, now: number, n: number, ownMs: number): number {
    const start = this.startOf(node, now);
    this.step = this.costs.answerMs + ownMs;
    this.occupy(node, now, start, start + n * (this.step + this.costs.afterMs) + this.stallMs(n));
    return start;
  }

  /** The stalls that follow `n` answers, ms in all (0 without `stalls`). */
  private stallMs(n: number): number {
    const s = this.costs.stalls;
    if (!s || !this.stallRng || s.perRequest === 0) return 0;
    let ms = 0;
    for (let k = 0; k < n; k++) if (this.stallRng() < s.perRequest) ms += quantile(s, this.stallRng());
    return ms;
  }

  /** When work that comes at `now` starts: at once if the loop is idle, else when what it has is done. */
  private startOf(node: number, now: number): number {
    return Math.max(now, this.freeAt[node]!);
  }

  /** The loop works until `until`; the watcher hears when that work starts an idle loop. */
  private occupy(node: number, now: number, start: number, until: number): number {
    this.freeAt[node] = until;
    if (start === now) this.watcher?.(node, now);
    return until;
  }

}
