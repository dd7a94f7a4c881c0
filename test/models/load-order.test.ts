import { describe, expect, it } from 'vitest';
import { type LaneMode, LoadOrder } from '../../src/models/load-order.js';

/** A load in the lane that the test finishes by hand, recording when it ran. */
function gated(order: LoadOrder, log: string[], name: string, mode: LaneMode) {
  let finish!: () => void;
  const done = order.inLane(async () => {
    log.push(`start ${name}`);
    await new Promise<void>((resolve) => (finish = resolve));
    log.push(`end ${name}`);
  }, mode);
  return { done, finish: () => finish() };
}

/** Lets every promise callback that can run, run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('LoadOrder: the load lane', () => {
  it('runs shared loads side by side up to its limit, and a load alone only when nothing else runs', async () => {
    const order = new LoadOrder(2);
    const log: string[] = [];
    const a = gated(order, log, 'a', 'shared');
    const b = gated(order, log, 'b', 'shared');
    const c = gated(order, log, 'c', 'shared');
    await settle();
    expect(log).toEqual(['start a', 'start b']);
    expect(order.inFlight).toBe(2);
    a.finish();
    await settle();
    expect(log).toEqual(['start a', 'start b', 'end a', 'start c']);
    const alone = gated(order, log, 'alone', 'alone');
    // Behind the alone load, a shared one waits even though a slot is free: first come, first served.
    const d = gated(order, log, 'd', 'shared');
    b.finish();
    await settle();
    expect(log.slice(-1)).toEqual(['end b']);
    c.finish();
    await settle();
    expect(log.slice(-2)).toEqual(['end c', 'start alone']);
    expect(order.inFlight).toBe(1);
    alone.finish();
    await settle();
    expect(log.slice(-2)).toEqual(['end alone', 'start d']);
    d.finish();
    await Promise.all([a.done, b.done, c.done, alone.done, d.done]);
  });

  it('passes on what a load returns or throws, and goes on after a failure', async () => {
    const order = new LoadOrder(1);
    await expect(order.inLane(() => Promise.reject(new Error('broken file')))).rejects.toThrow('broken file');
    await expect(order.inLane(() => Promise.resolve(7), 'shared')).resolves.toBe(7);
  });

  it('runs its idle task once the lane empties, once per quiet spell, and a load alone waits for it', async () => {
    const log: string[] = [];
    let finishIdle: (() => void) | undefined;
    const order = new LoadOrder(2, async () => {
      log.push('idle task');
      await new Promise<void>((resolve) => (finishIdle = resolve));
      log.push('idle task done');
    });
    const a = gated(order, log, 'a', 'shared');
    await settle();
    a.finish();
    await a.done;
    await settle();
    expect(log).toEqual(['start a', 'end a', 'idle task']);
    // A shared load may run beside it; one alone waits for it to end.
    const b = gated(order, log, 'b', 'shared');
    const alone = gated(order, log, 'alone', 'alone');
    await settle();
    expect(log.slice(-1)).toEqual(['start b']);
    b.finish();
    await settle();
    expect(log.slice(-1)).toEqual(['end b']);
    finishIdle!();
    await settle();
    expect(log.slice(-2)).toEqual(['idle task done', 'start alone']);
    alone.finish();
    await alone.done;
    await settle();
    // Loads ran since, so it runs again, and only once.
    expect(log.filter((l) => l === 'idle task')).toHaveLength(2);
    finishIdle!();
    await settle();
    await settle();
    expect(log.filter((l) => l === 'idle task')).toHaveLength(2);
  });

  it('counts a model with a load queued or under way as busy', async () => {
    const order = new LoadOrder(1);
    let finish!: () => void;
    const done = order.serialize('m', () => new Promise<void>((resolve) => (finish = resolve)));
    expect(order.busy('m')).toBe(true);
    expect(order.busy('other')).toBe(false);
    await settle();
    finish();
    await done;
    await settle();
    expect(order.busy('m')).toBe(false);
  });
});
