/**
 * Time as policies see it. Policies never read the wall clock: they are handed a Clock,
 * so tests and the simulator drive them with virtual time.
 */
export interface Clock {
  /** Milliseconds, monotonic, arbitrary origin. */
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
};

/** A clock that moves only when told to: for tests and the simulator. */
export class VirtualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}
