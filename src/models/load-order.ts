/**
 * The order loads and unloads run in. Every load and unload of one model runs after the previous
 * one (`serialize`); loads of all models run one at a time (`inLane`). A model with a load or
 * unload queued or under way is busy (`busy`): eviction leaves it alone.
 */
export class LoadOrder {
  /** One load or unload at a time per model, so that a load racing an unload ends in a defined state. */
  private readonly pending = new Map<string, Promise<void>>();
  /** Loads and unloads queued or under way per model: such a model is busy, never evicted. */
  private readonly ops = new Map<string, number>();
  private lane: Promise<unknown> = Promise.resolve();

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

  /** Runs `fn` after every other model's load: loads make room and are measured one at a time. */
  inLane<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lane.then(fn, fn);
    this.lane = next.catch(() => undefined);
    return next;
  }

  /** Whether a load or unload of the model is queued or under way. */
  busy(name: string): boolean {
    return (this.ops.get(name) ?? 0) > 0;
  }
}
