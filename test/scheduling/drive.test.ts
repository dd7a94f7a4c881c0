import { describe, expect, it } from 'vitest';
import { type Arrival, admit } from '../../src/scheduling/admission.js';
import { type BatchingConfig, type PendingRequest, type RunningBatch, schedule } from '../../src/scheduling/policy.js';
import { LatencyProfile } from '../../src/scheduling/profile.js';
import { ResponseOrder } from '../../src/scheduling/response-order.js';
import { NO_LIMITS, type QueueRules } from '../../src/scheduling/rules.js';

/**
 * The policies driven the way ModelScheduler is meant to drive them, on a virtual clock:
 * admit on arrival, schedule after every event (arrival, completion, wake-up), observe each
 * batch's compute time, release answers through ResponseOrder when preserve_ordering is on.
 */

type Outcome = { seq: number; at: number; ok: boolean; kind?: string; priority: number; deadline?: number };

function simulate(opts: { instances: number; preserveOrdering: boolean; cost: (rows: number) => number; profile: LatencyProfile }) {
  const batching: BatchingConfig = { maxBatchSize: 8, dynamic: { preferredBatchSizes: [8], maxQueueDelayMs: 4, preserveOrdering: opts.preserveOrdering } };
  const rules: QueueRules = {
    priorityLevels: 2, defaultLevel: 2, defaultRules: { ...NO_LIMITS, maxQueueSize: 40 }, levelRules: {}, defaultDeadlineMs: 30, maxQueueSize: 0,
  };
  let now = 0;
  let wakeAt = Infinity;
  const pending: PendingRequest[] = [];
  const running = new Map<number, RunningBatch & { seqs: number[]; endsAt: number }>();
  const byseq = new Map<number, PendingRequest>();
  const settled = new Map<number, Outcome>();
  const released: Outcome[] = [];
  const order = new ResponseOrder();
  const answer = (o: Outcome) => {
    settled.set(o.seq, o);
    for (const s of opts.preserveOrdering ? order.settle(o.seq) : [o.seq]) released.push(settled.get(s)!);
  };
  const pump = () => {
    const idleInstances = [...Array(opts.instances).keys()].filter((i) => !running.has(i));
    const plan = schedule({ pending, idleInstances, running: [...running.values()] }, batching, now, opts.profile);
    const leaving = new Set([...plan.refuse.map((r) => r.seq), ...plan.dispatch.flatMap((d) => d.seqs)]);
    for (let i = pending.length - 1; i >= 0; i--) if (leaving.has(pending[i]!.seq)) pending.splice(i, 1);
    for (const r of plan.refuse) answer({ seq: r.seq, at: now, ok: false, kind: r.kind, priority: byseq.get(r.seq)!.priority ?? 1 });
    for (const d of plan.dispatch) {
      const rows = d.seqs.reduce((n, s) => n + byseq.get(s)!.batchSize, 0);
      running.set(d.instance, { startedAt: now, rows, seqs: d.seqs, endsAt: now + opts.cost(rows) });
    }
    wakeAt = plan.wakeAt ?? Infinity;
  };

  let random = 7;
  const rand = () => (random = (random * 48271) % 2147483647) / 2147483647;
  const admitted = new Set<number>();
  // Complete batches and honour wake-ups that come due by time t.
  const advance = (t: number) => {
    for (;;) {
      const next = Math.min(wakeAt, ...[...running.values()].map((b) => b.endsAt));
      if (next > t || next === Infinity) return;
      now = next;
      for (const [instance, b] of running) {
        if (b.endsAt !== now) continue;
        running.delete(instance);
        opts.profile.observe(b.rows, b.endsAt - b.startedAt);
        for (const s of b.seqs) answer({ seq: s, at: now, ok: true, priority: byseq.get(s)!.priority ?? 1, deadline: byseq.get(s)!.deadline! });
      }
      pump();
    }
  };
  for (let seq = 0, t = 0; seq < 300; seq++, t += rand() * 3) {
    advance(t);
    now = t;
    const arrival: Arrival = { arrival: now, batchSize: 1 + Math.floor(rand() * 2), priority: rand() < 0.3 ? 1 : 2 };
    const a = admit({ pending, running: [...running.values()], instances: opts.instances, batching }, arrival, rules, opts.profile, now);
    if (!a.admitted) {
      released.push({ seq, at: now, ok: false, kind: a.kind, priority: arrival.priority! });
      continue;
    }
    const r: PendingRequest = { seq, arrival: now, batchSize: arrival.batchSize, shapeKey: 'x', ...a.ticket };
    pending.push(r);
    byseq.set(seq, r);
    order.track(seq);
    admitted.add(seq);
    pump();
  }
  advance(Infinity);
  return { released, admitted };
}

describe('driving the policies on a virtual clock, overloaded', () => {
  const cost = (rows: number) => 8 + 2 * rows;
  // Warmed up, as a model warm-up or a previous run's snapshot would leave it.
  const warm = () => LatencyProfile.from([{ rows: 1, ms: cost(1), samples: 1 }, { rows: 8, ms: cost(8), samples: 1 }]);

  it('answers every request once, never late: each meets its deadline or is refused', () => {
    const { released: out } = simulate({ instances: 2, preserveOrdering: false, cost, profile: warm() });
    expect(new Set(out.map((o) => o.seq)).size).toBe(300);
    expect(out.filter((o) => o.ok && o.at > o.deadline!)).toEqual([]);
    expect(out.filter((o) => o.ok).length).toBeGreaterThan(100);
    expect(out.some((o) => o.kind === 'deadline_exceeded')).toBe(true);
  });

  it('serves the higher priority level better', () => {
    const { released: out } = simulate({ instances: 1, preserveOrdering: false, cost, profile: warm() });
    const rate = (p: number) => out.filter((o) => o.priority === p && o.ok).length / out.filter((o) => o.priority === p).length;
    expect(rate(1)).toBeGreaterThan(rate(2));
  });

  it('with preserve_ordering, releases answers to admitted requests in admission order', () => {
    const { released, admitted } = simulate({ instances: 3, preserveOrdering: true, cost, profile: warm() });
    const inOrder = released.filter((o) => admitted.has(o.seq)).map((o) => o.seq);
    expect(inOrder).toEqual([...admitted]);
    // Without it, concurrent instances and priorities do reorder answers.
    const loose = simulate({ instances: 3, preserveOrdering: false, cost, profile: warm() });
    expect(loose.released.filter((o) => loose.admitted.has(o.seq)).map((o) => o.seq)).not.toEqual([...loose.admitted]);
  });
});
