/**
 * The order loads and unloads run in. Every load and unload of one model runs after the previous
 * one (`serialize`). Loads of different models go through one lane (`inLane`): a load that must
 * be measured runs `alone`, since resident-memory growth is process-wide and only then belongs
 * to it; a load whose footprint is already known runs `shared`, beside up to `maxShared - 1`
 * others. The lane is first come, first served: a load waiting to run alone holds back those
 * behind it, so it is never starved. When the lane has nothing to do it runs its idle task
 * (starting spare worker threads), which loads that run alone wait for, as it takes memory. A
 * model with a load or unload queued or under way is busy (`busy`): eviction leaves it alone.
 */
export type LaneMode = 'alone' | 'shared';

interface Waiting {
  mode: LaneMode;
  start: () => void;
}

export class LoadOrder {
  /** One load or unload at a time per model, so that a load racing an unload ends in a defined state. */
  private readonly pending = new Map<string, Promise<void>>();
  /** Loads and unloads queued or under way per model: such a model is busy, never evicted. */
  private readonly ops = new Map<string, number>();
  private readonly waiting: Waiting[] = [];
  private running = { alone: 0, shared: 0, idleTask: 0 };
  /** Whether loads ran since the idle task last did: it runs once per quiet spell, not in a loop. */
  private idleDue = false;

  constructor(
    /** Loads that may run at once when all are shared. */
    readonly maxShared = 1,
    /** Work for an idle lane; a failure is ignored. */
    private readonly idleTask?: () => Promise<void>,
  ) {}

  /** Run `fn` after any load or unload of the same model already under way. */
  serialize(name: string, fn: () => Promise<void>): Promise<void> {
    this.ops.set(name, (this.ops.get(name) ?? 0) + 1);
    const before = this.pending.get(name) ?? Promise.resolve();
    const next = before.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.pending.set(name, settled);
    void settled.then(() => {
      const left = (this.ops.get(name) ?? 1) - 1;
      if (left > 0) this.ops.set(name, left);
      else this.ops.delete(name);
      if (this.pending.get(name) === settled) this.pending.delete(name);
    });
    return next;
  }

  /** Runs `fn` in the lane: alone (nothing else in the lane meanwhile) or shared (see the class). */
  inLane<T>(fn: () => Promise<T>, mode: LaneMode = 'alone'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({
        mode,
        start: () => {
          this.running[mode]++;
          this.idleDue = true;
          void (async () => fn())().then(resolve, reject).finally(() => {
            this.running[mode]--;
            this.pump();
          });
        },
      });
      this.pump();
    });
  }

  /** Whether a load or unload of the model is queued or under way. */
  busy(name: string): boolean {
    return (this.ops.get(name) ?? 0) > 0;
  }

  /** Runs the idle task now if the lane is idle (at start, before any load). */
  idle(): void {
    this.idleDue = true;
    this.pump();
  }

  /** Loads running in the lane now. */
  get inFlight(): number {
    return this.running.alone + this.running.shared;
  }

  private pump(): void {
    for (let next = this.waiting[0]; next; next = this.waiting[0]) {
      const { alone, shared, idleTask } = this.running;
      const free = next.mode === 'alone' ? alone + shared + idleTask === 0 : alone === 0 && shared < this.maxShared;
      if (!free) break;
      this.waiting.shift();
      next.start();
    }
    if (this.idleTask && this.idleDue && this.waiting.length === 0 && this.inFlight === 0 && this.running.idleTask === 0) {
      this.idleDue = false;
      this.running.idleTask++;
      void this.idleTask().catch(() => undefined).finally(() => {
        this.running.idleTask--;
        this.pump();
      });
    }
  }
}
