/**
 * How long a batch of a given number of rows takes to compute on one instance, learnt online
 * from the batches that ran (Clockwork's observation: a model's execution time is predictable,
 * so admission and batching can plan by predicted finish times). The caller feeds it samples;
 * it reads no clock, so the simulator can seed it from a cost model instead.
 */

export interface LatencyEstimator {
  /** Predicted compute ms for a batch of `rows`; undefined until there is evidence to predict from. */
  estimate(rows: number): number | undefined;
  /**
   * Clock time of the newest sample, when samples carry times. Admission uses its age to let a
   * request through as a probe when the predictions have gone stale (see admit).
   */
  readonly lastObservedAt?: number;
}

export interface ProfilePoint {
  rows: number;
  /** Smoothed compute time. */
  ms: number;
  samples: number;
}

export interface LatencyProfileOptions {
  /** Weight of a new sample in the moving average; higher follows changes faster, lower smooths noise. */
  weight?: number;
  /**
   * A sample that comes this long (ms) after the previous one of its batch size replaces the
   * point instead of being averaged in: what was learnt before the gap (under a load that has
   * since gone, say) says little about now. Default 1000.
   */
  restartAfterMs?: number;
}

export class LatencyProfile implements LatencyEstimator {
  private readonly points = new Map<number, { ms: number; samples: number; at?: number }>();
  private readonly weight: number;
  private readonly restartAfterMs: number;
  lastObservedAt: number | undefined;
  /** Sizes in ascending order with the fitted slope, rebuilt after an observation. */
  private fit: { sizes: number[]; slope: number } | undefined;

  constructor(opts: LatencyProfileOptions = {}) {
    this.weight = opts.weight ?? 0.2;
    this.restartAfterMs = opts.restartAfterMs ?? 1000;
    if (!(this.weight > 0 && this.weight <= 1)) throw new RangeError(`weight must be in (0, 1], got ${this.weight}`);
  }

  /** A profile seeded with known points, e.g. a cost model's or a previous run's snapshot. */
  static from(points: readonly ProfilePoint[], opts?: LatencyProfileOptions): LatencyProfile {
    const p = new LatencyProfile(opts);
    for (const pt of points) if (valid(pt.rows, pt.ms)) p.points.set(pt.rows, { ms: pt.ms, samples: Math.max(1, pt.samples) });
    return p;
  }

  /**
   * One executed batch: `rows` rows took `ms` of compute, finishing at clock time `at` (absent:
   * untimed, as when seeding from a cost model). Nonsense samples are ignored, not averaged in.
   */
  observe(rows: number, ms: number, at?: number): void {
    if (!valid(rows, ms)) return;
    const p = this.points.get(rows);
    if (p && !(at !== undefined && p.at !== undefined && at - p.at >= this.restartAfterMs)) {
      p.ms += this.weight * (ms - p.ms);
      p.samples++;
      if (at !== undefined) p.at = at;
    } else {
      this.points.set(rows, at === undefined ? { ms, samples: (p?.samples ?? 0) + 1 } : { ms, samples: (p?.samples ?? 0) + 1, at });
    }
    if (at !== undefined) this.lastObservedAt = Math.max(this.lastObservedAt ?? at, at);
    this.fit = undefined;
  }

  estimate(rows: number): number | undefined {
    const exact = this.points.get(rows);
    if (exact) return exact.ms;
    const { sizes, slope } = this.fitted();
    const lo = sizes[0];
    const hi = sizes[sizes.length - 1];
    if (lo === undefined || hi === undefined) return undefined;
    const at = (r: number) => this.points.get(r)!.ms;
    if (sizes.length === 1) {
      // One size says nothing about how cost grows; both guesses below err on the cheap side,
      // so admission does not refuse on a guess.
      return at(lo) * Math.min(1, rows / lo);
    }
    if (rows < lo) return Math.max(at(lo) * (rows / lo), at(lo) - slope * (lo - rows));
    if (rows > hi) return at(hi) + slope * (rows - hi);
    const i = sizes.findIndex((s) => s > rows);
    const a = sizes[i - 1]!;
    const b = sizes[i]!;
    return at(a) + ((at(b) - at(a)) * (rows - a)) / (b - a);
  }

  /** The learnt points, smallest batch first: for statistics, reports and seeding another profile. */
  snapshot(): ProfilePoint[] {
    return [...this.points].sort((x, y) => x[0] - y[0]).map(([rows, p]) => ({ rows, ms: p.ms, samples: p.samples }));
  }

  /** Least-squares slope of ms over rows (cost of one more row), never negative: more rows never run faster. */
  private fitted(): { sizes: number[]; slope: number } {
    if (this.fit) return this.fit;
    const sizes = [...this.points.keys()].sort((a, b) => a - b);
    const n = sizes.length;
    let slope = 0;
    if (n >= 2) {
      const mx = sizes.reduce((s, r) => s + r, 0) / n;
      const my = sizes.reduce((s, r) => s + this.points.get(r)!.ms, 0) / n;
      let sxy = 0;
      let sxx = 0;
      for (const r of sizes) {
        sxy += (r - mx) * (this.points.get(r)!.ms - my);
        sxx += (r - mx) ** 2;
      }
      slope = Math.max(0, sxy / sxx);
    }
    this.fit = { sizes, slope };
    return this.fit;
  }
}

function valid(rows: number, ms: number): boolean {
  return Number.isSafeInteger(rows) && rows >= 1 && Number.isFinite(ms) && ms >= 0;
}
