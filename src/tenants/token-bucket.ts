/**
 * A token bucket: `ratePerSecond` tokens flow in, at most `burst` are kept, and each request
 * takes one. A tenant may thus send `burst` requests at once, then `ratePerSecond` a second
 * on average. Time is passed in (ms), never read, so tests and the simulator drive it.
 */
export type Take = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBucket {
  private tokens: number;
  private at: number | undefined;

  constructor(readonly ratePerSecond: number, readonly burst: number) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError(`a token bucket needs a positive rate and a burst of at least 1, got ${ratePerSecond}/s and ${burst}`);
    this.tokens = burst;
  }

  /** Takes a token at `now`; when none is left, how long until one will be. */
  take(now: number): Take {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: ((1 - this.tokens) * 1000) / this.ratePerSecond };
  }

  /** Tokens left at `now` (fractions included). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    // A clock that steps back (it should not) neither adds nor removes tokens.
    if (this.at !== undefined && now > this.at) this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.ratePerSecond) / 1000);
    if (this.at === undefined || now > this.at) this.at = now;
  }
}
