// Pure decisions about loading a model on demand: when a failed load may be tried again, how
// long a request may wait for a load, and whether it can wait for one. Plain data in, decision
// out; the clock is passed in.

export interface LoadFailure {
  /** Failed loads in a row. */
  failures: number;
  /** Clock time (ms) of the last failure. */
  at: number;
  reason: string;
}

export interface BackoffOptions {
  /** Wait after the first failure. */
  baseMs: number;
  /** Longest wait, however many failures. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000 };

/**
 * Clock time at which a model that failed `failures` times in a row may be loaded again:
 * exponential back-off (base, 2×base, 4×base, … up to max), so a model whose file is broken
 * costs one load attempt per back-off period rather than one per request.
 */
export function retryAt(f: LoadFailure, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const wait = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, Math.min(f.failures - 1, 30)));
  return f.at + wait;
}

/** How long (ms) a request must wait before the model may be tried again; 0 when it may now. */
export function backoffRemainingMs(f: LoadFailure | undefined, now: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  return f ? Math.max(0, retryAt(f, opts) - now) : 0;
}

/** The failure record after one more failure. */
export function recordFailure(f: LoadFailure | undefined, now: number, reason: string): LoadFailure {
  return { failures: (f?.failures ?? 0) + 1, at: now, reason };
}

/**
 * Whether a request that may wait `waitMs` more can wait for a load expected to take
 * `expectedMs` in all (`startedAt`: when the load under way began, if one is). An unknown
 * expectation (0: the model was never loaded and nothing was loaded yet) lets it wait: the
 * scheduler still enforces the request's own deadline once the model is there.
 */
export function canWaitForLoad(expectedMs: number, waitMs: number, now: number, startedAt?: number): boolean {
  const remaining = expectedMs - (startedAt === undefined ? 0 : now - startedAt);
  return remaining <= waitMs;
}

/** What bounds a request's wait for its model: its deadline and queue timeout, after its arrival. */
export interface LoadWaitBounds {
  /** The request's deadline, ms after arrival (`deadline_ms`); none unless above 0. */
  deadlineMs?: number;
  /** The request's queue timeout in ms (Triton's `timeout`, which is in µs, over 1000); none unless above 0. */
  timeoutMs?: number;
  /** Clock time (ms) the request arrived. */
  arrival: number;
}

/**
 * How long (ms) a request may wait for its model to load, at clock time `now`: what its deadline
 * or timeout leaves (the smaller; negative once passed), undefined when it brings neither.
 */
export function loadWaitMs(b: LoadWaitBounds, now: number): number | undefined {
  let wait: number | undefined;
  if (b.deadlineMs !== undefined && b.deadlineMs > 0) wait = b.deadlineMs - (now - b.arrival);
  if (b.timeoutMs !== undefined && b.timeoutMs > 0) wait = Math.min(wait ?? Infinity, b.timeoutMs - (now - b.arrival));
  return wait;
}
