/**
 * ModelScheduler asks whether a job's client has gone only once the job has waited: a job that
 * runs at once is never asked (an adapter's answer may cost something: one without a cheap flag
 * makes its signal on first read), while a job that waits is still dropped, unrun, when its
 * client goes away.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import { ShoalError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import { type BatchRunner, type Job, ModelScheduler } from '../../src/scheduling/model-scheduler.js';
import { HeldRunner, tensor, tick } from '../support/held-runner.js';

/** A job that counts how often it is asked whether its client has gone. */
class LazyJob implements Job {
  reads = 0;
  gone = false;
  readonly batchSize = 1;
  readonly shapeKey = 'x:FP32:';
  constructor(readonly inputs: Tensor[]) {}
  get cancelled(): boolean {
    this.reads++;
    return this.gone;
  }
}

const scheduler = (runner: BatchRunner) => new ModelScheduler([runner], {
  outputNames: ['x'], batching: { maxBatchSize: 0 }, maxQueueSize: 10, clock: new VirtualClock(),
});

describe('ModelScheduler and cancelled jobs', () => {
  it('does not ask a job that runs at once', async () => {
    const runner = new HeldRunner();
    const s = scheduler(runner);
    const job = new LazyJob([tensor(1)]);
    const done = s.submit(job);
    runner.finishOne();
    await done;
    expect(job.reads).toBe(0);
  });

  it('drops a waiting job whose client went away, without running it', async () => {
    const runner = new HeldRunner();
    const s = scheduler(runner);
    const first = s.submit(new LazyJob([tensor(1)]));
    const waiting = new LazyJob([tensor(2)]);
    const second = s.submit(waiting);
    const third = s.submit(new LazyJob([tensor(3)]));
    waiting.gone = true;
    runner.finishOne();
    await first;
    const err = await second.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShoalError);
    expect((err as ShoalError).kind).toBe('cancelled');
    await tick();
    runner.finishOne();
    await third;
    expect(runner.runs).toEqual([1, 3]);
    expect(waiting.reads).toBeGreaterThan(0);
  });
});
