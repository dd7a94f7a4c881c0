/**
 * How much later than admission predicted recent requests actually finished. Admission's
 * prediction counts only the compute queued ahead and the request's own, from the latency
 * profile's averages; batches that pack worse than assumed, compute that varies under load, and
 * a busy event loop all make real finishes later. A request admitted with a predicted finish
 * just inside its deadline then misses it: in the issue-3 overload bench about a third of the
 * answered requests did, each one capacity spent on an answer nobody could use. Admission adds
 * a high quantile of the recent lateness as a margin, so that what it admits finishes in time.
 *
 * Pure: the caller passes times. Samples expire with their age, so a margin learnt under a load
 * that has gone does not keep refusing requests afterwards.
 */

export interface LatenessOptions {
  /** Recent samples kept. */
  window?: number;
  /** The quantile of the kept samples used as the margin, in (0, 1]. */
  quantile?: number;
  /** Samples older than this (ms) no longer count. */
  maxAgeMs?: number;
}

export class Lateness {
  private readonly late: Float64Array;
  private readonly at: Float64Array;
  private next = 0;
  private count = 0;
  private readonly quantile: number;
  private readonly maxAgeMs: number;
  /** The margin as of the last computation, until a new sample arrives or samples age out. */
  private cached: { margin: number; validUntil: number } | undefined;

  constructor(opts: LatenessOptions = {}) {
    const window = opts.window ?? 64;
    this.late = new Float64Array(window);
    this.at = new Float64Array(window);
    this.quantile = opts.quantile ?? 0.9;
    this.maxAgeMs = opts.maxAgeMs ?? 1000;
    if (!(this.quantile > 0 && this.quantile <= 1)) throw new RangeError(`quantile must be in (0, 1], got ${this.quantile}`);
  }

  /** A request finished at `at`, `lateMs` after its predicted finish (negative: early). */
  observe(lateMs: number, at: number): void {
    if (!Number.isFinite(lateMs) || !Number.isFinite(at)) return;
    this.late[this.next] = lateMs;
    this.at[this.next] = at;
    this.next = (this.next + 1) % this.late.length;
    this.count = Math.min(this.count + 1, this.late.length);
    this.cached = undefined;
  }

  /** Ms to add to a predicted finish at `now`: the quantile of fresh lateness, never negative; 0 without fresh samples. */
  marginMs(now: number): number {
    if (this.cached && now < this.cached.validUntil) return this.cached.margin;
    const fresh: number[] = [];
    let oldest = Infinity;
    for (let i = 0; i < this.count; i++) {
      if (now - this.at[i]! > this.maxAgeMs) continue;
      fresh.push(this.late[i]!);
      oldest = Math.min(oldest, this.at[i]!);
    }
    let margin = 0;
    if (fresh.length > 0) {
      fresh.sort((a, b) => a - b);
      margin = Math.max(0, fresh[Math.min(fresh.length - 1, Math.ceil(this.quantile * fresh.length) - 1)]!);
    }
    // Valid until the oldest fresh sample ages out (or a new one arrives).
    this.cached = { margin, validUntil: fresh.length > 0 ? oldest + this.maxAgeMs : Infinity };
    return margin;
  }
}
