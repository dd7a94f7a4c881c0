/**
 * Which per-request failure lines get written. Under overload a server refuses thousands of
 * requests a second; one log line each turned the issue-3 overload bench's log into 68 MB a
 * minute and spent event-loop time that the admitted requests needed. So each kind of failure
 * (model, status, reason) writes its first `perWindow` lines in a window, and the rest are
 * counted and reported as one line when the window closes. Pure: the caller passes the time.
 *
 * Keys come partly from requests (a model name that does not exist), so a window tracks at
 * most `maxKeys` of them; failures beyond that share one overflow key.
 */

export interface LogSamplerOptions {
  /** Window length, ms. */
  windowMs?: number;
  /** Lines written per key and window before the rest are only counted. */
  perWindow?: number;
  /** Distinct keys tracked per window. */
  maxKeys?: number;
}

/** Lines the closed window held back, per key, with one example of each. */
export interface Suppressed<T> {
  key: string;
  count: number;
  example: T;
}

export const OVERFLOW_KEY = '(other)';

export class LogSampler<T> {
  private readonly windowMs: number;
  private readonly perWindow: number;
  private readonly maxKeys: number;
  private windowStart = -Infinity;
  private readonly seen = new Map<string, { written: number; held: number; example: T }>();

  constructor(opts: LogSamplerOptions = {}) {
    this.windowMs = opts.windowMs ?? 1000;
    this.perWindow = opts.perWindow ?? 5;
    this.maxKeys = opts.maxKeys ?? 256;
  }

  /**
   * Whether the line for `key` should be written now, and the summaries of the window that
   * closed, if this call closed one (write those first: they are older).
   */
  offer(key: string, line: T, now: number): { write: boolean; closed: Suppressed<T>[] } {
    const closed = now - this.windowStart >= this.windowMs ? this.roll(now) : [];
    if (!this.seen.has(key) && this.seen.size >= this.maxKeys) key = OVERFLOW_KEY;
    let entry = this.seen.get(key);
    if (!entry) {
      entry = { written: 0, held: 0, example: line };
      this.seen.set(key, entry);
    }
    if (entry.written < this.perWindow) {
      entry.written++;
      return { write: true, closed };
    }
    if (entry.held === 0) entry.example = line;
    entry.held++;
    return { write: false, closed };
  }

  /** Summaries of what is held back so far, closing the window (call at shutdown). */
  flush(now: number): Suppressed<T>[] {
    return this.roll(now);
  }

  private roll(now: number): Suppressed<T>[] {
    const out: Suppressed<T>[] = [];
    for (const [key, e] of this.seen) if (e.held > 0) out.push({ key, count: e.held, example: e.example });
    this.seen.clear();
    this.windowStart = now;
    return out;
  }
}
