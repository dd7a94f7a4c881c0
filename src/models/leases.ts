/**
 * Requests that hold a model version: from the moment the manager hands it out until the
 * request is answered. Counted so that nothing (eviction, unload, reload) releases the version's
 * sessions between a request's lookup and its submission to the scheduler.
 */
export class Leases {
  private n = 0;
  private waiters: Array<() => void> = [];

  get count(): number {
    return this.n;
  }

  take(): void {
    this.n++;
  }

  drop(): void {
    if (this.n === 0) return;
    if (--this.n > 0 || this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  whenNone(): Promise<void> {
    return this.n === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}
