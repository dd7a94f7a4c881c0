/**
 * Errors every layer may raise. The kind says what went wrong in the domain's words;
 * protocol adapters map kinds to their own status codes (HTTP, gRPC), so core code never
 * mentions a status code.
 */
export type ErrorKind =
  | 'invalid_argument'   // the request is malformed or does not fit the model
  | 'not_found'          // unknown model or version
  | 'unavailable'        // the model exists but cannot serve now (loading failed, unloading, draining)
  | 'too_large'          // a body or tensor over a configured limit
  | 'overloaded'         // refused by admission: queue full, rate limit
  | 'deadline_exceeded'  // the request's deadline passed or cannot be met
  | 'cancelled'          // the client went away
  | 'internal';          // a fault of ours or of the backend

export class ShoalError extends Error {
  override readonly name = 'ShoalError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Seconds after which a refused client may retry, for overload. */
    readonly retryAfterSeconds?: number,
    /** Why the scheduler refused the request (queue_full, queue_timeout, deadline, invalid_priority), for metrics. */
    readonly reason?: string,
  ) {
    // Every kind but 'internal' is an expected outcome, told to the client and counted, never
    // debugged from a stack; under 5× overload refusals come thousands a second, and capturing
    // a stack for each took about 12 µs (a CPU profile of the overload bench showed ShoalError
    // at 5.5% of the event loop's time). 'internal' keeps its stack: it is a fault of ours.
    const limit = Error.stackTraceLimit;
    if (kind !== 'internal') Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

export const invalid = (msg: string): ShoalError => new ShoalError('invalid_argument', msg);
export const notFound = (msg: string): ShoalError => new ShoalError('not_found', msg);
export const unavailable = (msg: string): ShoalError => new ShoalError('unavailable', msg);

/** Any thrown value as a ShoalError; unknown faults become 'internal'. */
export function asShoalError(e: unknown): ShoalError {
  if (e instanceof ShoalError) return e;
  return new ShoalError('internal', e instanceof Error ? e.message : String(e));
}
