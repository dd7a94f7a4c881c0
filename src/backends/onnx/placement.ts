/**
 * Where an onnxruntime batch runs: on the session's worker thread, or inline on the event loop.
 *
 * onnxruntime-node's `run` computes on the calling thread, so sessions live on worker threads:
 * a long batch on the event loop would stall every other request's I/O. But handing a batch to
 * a worker and its answer back costs a round trip between threads (two wake-ups, two message
 * copies), and for a model whose compute is tiny the round trip costs more than the compute:
 * running such a batch on the event loop blocks the loop for less time than the hop would have
 * delayed the request. So each session keeps measured estimates, not configured ones, and this
 * pure function picks per batch. The decisions and the figures behind them are plain data:
 * nothing here reads a clock.
 */

export type Placement = 'inline' | 'worker';

/**
 * No batch estimated to keep the event loop busy longer than this runs inline, whatever a hop
 * costs: under load the measured hop grows with the loop's own backlog, and the loop's latency
 * for everyone else must stay in microseconds.
 */
export const MAX_INLINE_MS = 0.1;

/**
 * A second, inline session is made only for model files up to this size: its cost is another
 * copy of the weights, and its load runs on the event loop.
 */
export const MAX_INLINE_MODEL_BYTES = 1024 * 1024;

export interface PlacementInput {
  /** Estimated time the batch keeps its thread busy (ms), for batches of its size class; undefined if none measured yet. */
  computeMs: number | undefined;
  /** Estimated extra time a worker round trip adds over the compute (ms); undefined if none measured yet. */
  hopMs: number | undefined;
  /** Whether the session can run inline at all (a small enough model file). */
  inlineAllowed: boolean;
}

/**
 * Inline only when both figures are measured and the compute is cheaper than the hop and under
 * MAX_INLINE_MS; anything unmeasured goes to the worker, which measures it.
 */
export function choosePlacement(p: PlacementInput): Placement {
  if (!p.inlineAllowed || p.computeMs === undefined || p.hopMs === undefined) return 'worker';
  return p.computeMs < p.hopMs && p.computeMs <= MAX_INLINE_MS ? 'inline' : 'worker';
}

/**
 * Batches are grouped by input size for the compute estimate: class k holds batches of
 * 2^(k-1) to 2^k - 1 bytes (class 0: empty), so a model's cost can grow with its input
 * without one estimate for every size.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 0) return 0;
  if (bytes < 2 ** 31) return 32 - Math.clz32(bytes);
  return Math.floor(Math.log2(bytes)) + 1;
}

/** Samples each estimate keeps: a quantile of the last few, so that one batch preempted or caught by GC does not move it. */
export const WINDOW = 16;

/** The last WINDOW samples, kept sorted too, so that their quantiles are lookups. */
export class RecentSamples {
  /** In arrival order, as a ring; and the same samples kept sorted, so a quantile is a lookup. */
  private readonly ring: number[] = [];
  private readonly sorted: number[] = [];
  private next = 0;

  push(x: number): void {
    if (this.ring.length < WINDOW) {
      this.ring.push(x);
    } else {
      this.sorted.splice(this.sorted.indexOf(this.ring[this.next]!), 1);
      this.ring[this.next] = x;
    }
    this.next = (this.next + 1) % WINDOW;
    let i = this.sorted.length;
    while (i > 0 && this.sorted[i - 1]! > x) i--;
    this.sorted.splice(i, 0, x);
  }

  /** The median (the upper of the middle two when their count is even); undefined before any sample. */
  get median(): number | undefined {
    const n = this.sorted.length;
    return n === 0 ? undefined : this.sorted[n >> 1];
  }

  /** The lower quartile (the 4th smallest of 16; the smallest of up to 4); undefined before any sample. */
  get lowerQuartile(): number | undefined {
    const n = this.sorted.length;
    return n === 0 ? undefined : this.sorted[(n - 1) >> 2];
  }
}

/**
 * One session's running estimates (ms), fed by the batches it runs, inline or on the worker.
 *
 * Compute is the lower quartile of its samples: a sample is the batch's cost plus whatever
 * delayed the thread meanwhile (preemption, which falls hardest on the worker, whose priority is
 * lowered; a collection), never less than the cost, so the low samples are the cost and the high
 * ones noise. The hop is the median of its samples: its delays are what a request really pays.
 */
export class RunCosts {
  private readonly compute = new Map<number, RecentSamples>();
  private readonly hop = new RecentSamples();

  computeMs(sizeClass: number): number | undefined {
    return this.compute.get(sizeClass)?.lowerQuartile;
  }

  get hopMs(): number | undefined {
    return this.hop.median;
  }

  recordCompute(sizeClass: number, ms: number): void {
    if (!(ms >= 0)) return;
    let w = this.compute.get(sizeClass);
    if (!w) {
      w = new RecentSamples();
      this.compute.set(sizeClass, w);
    }
    w.push(ms);
  }

  recordHop(ms: number): void {
    if (ms >= 0) this.hop.push(ms);
  }
}
