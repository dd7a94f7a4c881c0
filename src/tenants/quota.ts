/** A concurrency quota: at most `max` requests of one tenant in flight; `Infinity` means none. */
export class InflightQuota {
  private count = 0;

  constructor(readonly max: number) {}

  get inflight(): number {
    return this.count;
  }

  /** Counts one more request in flight, or says false (and counts nothing) when the quota is used up. */
  tryAcquire(): boolean {
    if (this.count >= this.max) return false;
    this.count++;
    return true;
  }

  release(): void {
    if (this.count > 0) this.count--;
  }
}
