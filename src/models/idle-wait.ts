// Waiting, briefly, for a model to go idle: what a load making room does when the model it
// should evict is busy for the moment (residency.ts). In real time, since what it waits for
// (requests being answered) happens in real time whatever clock the manager was given.

/** Wakes whoever waits whenever a model may have gone idle (its last lease was given back). */
export class IdleSignal {
  private readonly waiting = new Set<() => void>();

  /** Resolves at the next notify. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiting.add(resolve));
  }

  /** Cheap when nobody waits: it runs each time a request is answered. */
  notify(): void {
    if (this.waiting.size === 0) return;
    const woken = [...this.waiting];
    this.waiting.clear();
    for (const w of woken) w();
  }
}

/** A bound on waiting that starts when first waited on. */
export class Patience {
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private end: Promise<void> | undefined;

  constructor(private readonly ms: number) {}

  get over(): boolean {
    return this.ended;
  }

  /** Resolves once the bound has passed. */
  get passed(): Promise<void> {
    this.end ??= new Promise<void>((resolve) => {
      this.timer = setTimeout(() => {
        this.ended = true;
        resolve();
      }, this.ms);
      this.timer.unref();
    });
    return this.end;
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
