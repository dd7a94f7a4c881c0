/**
 * ModelScheduler carrying the policies out: admission refusals, refusals the policy decides
 * while requests wait, the latency profile fed by each batch, and preserve_ordering.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import { ShoalError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import { type BatchRunner, type Job, ModelScheduler } from '../../src/scheduling/model-scheduler.js';
import { LatencyProfile } from '../../src/scheduling/profile.js';
import { NO_LIMITS, type QueueRules } from '../../src/scheduling/rules.js';

const tensor = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1], data: Float32Array.of(v) });
const job = (v: number, more: Partial<Job> = {}): Job => ({ inputs: [tensor(v)], batchSize: 1, shapeKey: 'x', ...more });

class HeldRunner implements BatchRunner {
  runs: number[] = [];
  private release: Array<() => void> = [];
  constructor(private readonly clock?: VirtualClock, private readonly ms = 0) {}
  run(inputs: Tensor[]): Promise<Tensor[]> {
    this.runs.push((inputs[0]!.data as Float32Array)[0]!);
    return new Promise((resolve) => this.release.push(() => {
      this.clock?.advance(this.ms);
      resolve(inputs);
    }));
  }
  finishOne(): void {
    this.release.shift()?.();
  }
}

const rules = (more: Partial<QueueRules> = {}): QueueRules => ({
  priorityLevels: 0, defaultLevel: 1, defaultRules: NO_LIMITS, levelRules: {}, defaultDeadlineMs: 0, maxQueueSize: 0, ...more,
});
const kindOf = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as ShoalError);

describe('ModelScheduler with the scheduling policies', () => {
  it('refuses at admission with the kind, Retry-After and reason', async () => {
    const runner = new HeldRunner();
    const s = new ModelScheduler([runner], {
      outputNames: ['x'], batching: { maxBatchSize: 0 }, rules: rules({ maxQueueSize: 1 }), clock: new VirtualClock(),
    });
    const first = s.submit(job(1));
    const second = s.submit(job(2));
    const err = await kindOf(s.submit(job(3)));
    expect(err).toMatchObject({ kind: 'overloaded', reason: 'queue_full' });
    expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    runner.finishOne();
    await first;
    runner.finishOne();
    await second;
  });

  it('refuses a waiting request whose queue timeout ran out, and learns compute times', async () => {
    const clock = new VirtualClock();
    const runner = new HeldRunner(clock, 10);
    const profile = new LatencyProfile();
    const s = new ModelScheduler([runner], {
      outputNames: ['x'], batching: { maxBatchSize: 0 }, profile, clock,
      rules: rules({ defaultRules: { ...NO_LIMITS, timeoutMs: 5 } }),
    });
    const first = s.submit(job(1));
    const second = s.submit(job(2));
    runner.finishOne(); // takes 10 ms: the second waited past its 5 ms timeout
    await first;
    const err = await kindOf(second);
    expect(err).toMatchObject({ kind: 'deadline_exceeded', reason: 'queue_timeout' });
    expect(runner.runs).toEqual([1]);
    expect(profile.estimate(1)).toBe(10);
    await s.whenIdle();
  });

  it('with preserve_ordering, answers in admission order whatever order batches finish in', async () => {
    const a = new HeldRunner();
    const b = new HeldRunner();
    const s = new ModelScheduler([a, b], {
      outputNames: ['x'], clock: new VirtualClock(), rules: rules(),
      batching: { maxBatchSize: 4, dynamic: { preferredBatchSizes: [], maxQueueDelayMs: 0, preserveOrdering: true } },
    });
    const order: number[] = [];
    const first = s.submit(job(1)).then(() => order.push(1));
    const second = s.submit(job(2)).then(() => order.push(2));
    b.finishOne();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    a.finishOne();
    await Promise.all([first, second]);
    expect(order).toEqual([1, 2]);
  });
});
