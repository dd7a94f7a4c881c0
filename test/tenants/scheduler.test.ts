/**
 * The live ModelScheduler with tenants: the same fair-share tags as the pure tests, carried
 * out by the scheduler itself on one instance whose batches finish when the test says.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import { type Job, ModelScheduler } from '../../src/scheduling/model-scheduler.js';
import { HeldRunner, tensor, tick } from '../support/held-runner.js';

describe('ModelScheduler with tenants', () => {
  it('serves a quiet tenant between a noisy tenant\'s queued requests, and each tenant its own urgent request first', async () => {
    const runner = new HeldRunner();
    const s = new ModelScheduler([runner], { outputNames: ['x'], batching: { maxBatchSize: 0 }, clock: new VirtualClock() });
    const noisy = { name: 'noisy', weight: 1 };
    const quiet = { name: 'quiet', weight: 1 };
    const job = (v: number, tenant: Job['tenant'], more: Partial<Job> = {}): Job => ({ inputs: [tensor(v)], batchSize: 1, shapeKey: 'x', tenant, ...more });
    const answers: Array<Promise<unknown>> = [];
    for (let i = 0; i < 8; i++) answers.push(s.submit(job(100 + i, noisy)));
    answers.push(s.submit(job(200, quiet)), s.submit(job(201, quiet)), s.submit(job(202, quiet, { deadlineMicroseconds: 60_000_000 })));
    for (let i = 0; i < answers.length; i++) {
      await tick();
      runner.finishOne();
    }
    await Promise.all(answers);
    // 100 was running when the rest came. Quiet then alternates with noisy, its deadline request
    // first. At equal virtual start times the deadline goes first (202 before 101), then the
    // earlier admission (102 before 200).
    expect(runner.runs).toEqual([100, 202, 101, 102, 200, 103, 201, 104, 105, 106, 107]);
  });

  it('without tenants, the same requests run first come, first served', async () => {
    const runner = new HeldRunner();
    const s = new ModelScheduler([runner], { outputNames: ['x'], batching: { maxBatchSize: 0 }, clock: new VirtualClock() });
    const answers: Array<Promise<unknown>> = [];
    for (let i = 0; i < 8; i++) answers.push(s.submit({ inputs: [tensor(100 + i)], batchSize: 1, shapeKey: 'x' }));
    for (const v of [200, 201]) answers.push(s.submit({ inputs: [tensor(v)], batchSize: 1, shapeKey: 'x' }));
    for (let i = 0; i < answers.length; i++) {
      await tick();
      runner.finishOne();
    }
    await Promise.all(answers);
    expect(runner.runs).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 200, 201]);
  });
});
