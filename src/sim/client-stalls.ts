/**
 * The load generator's own pauses: its event loop, like the server's, now and then stops for a
 * while (a collection, or its thread waiting for a core the server's threads hold), and an answer
 * that reaches it meanwhile is read only when it goes on. Watched in runs of the fidelity
 * workload at 300 and 450/s on 2026-11-29, the bench's loop stopped for over 3 ms 2.5 to 4 times
 * a second, the longest 25 to 44 ms. Pure: stalls come from a seeded stream, as a Poisson process
 * whose lengths are drawn from the measured spread, laid out ahead of the answers as far as they
 * reach.
 */
import type { Rng } from '../bench/random.js';
import { type ClientStalls, quantile } from './cost-model.js';

export class ClientStallTimeline {
  /** Start and end of each stall, ascending and never overlapping. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private horizon = 0;

  constructor(private readonly stalls: ClientStalls, private readonly rng: Rng) {}

  /** When an answer that reaches the client at `atMs` is read: at once, or when the stall it falls in ends. */
  readAt(atMs: number): number {
    if (this.stalls.perSecond <= 0) return atMs;
    while (this.horizon <= atMs) this.extend();
    // The last stall that starts at or before atMs.
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= atMs) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found >= 0 && atMs < this.ends[found]! ? this.ends[found]! : atMs;
  }

  private extend(): void {
    const gap = -Math.log(1 - this.rng()) * (1000 / this.stalls.perSecond);
    const start = this.horizon + gap;
    const end = start + quantile(this.stalls, this.rng());
    this.starts.push(start);
    this.ends.push(end);
    this.horizon = end;
  }
}
