import { describe, expect, it } from 'vitest';
import { admit, resolveLevel } from '../../src/scheduling/admission.js';
import { type BatchingConfig, type PendingRequest, schedule } from '../../src/scheduling/policy.js';
import { NO_LIMITS, type QueueRules } from '../../src/scheduling/rules.js';
import { FairShare, retag } from '../../src/tenants/fair-share.js';

/**
 * Weighted fair sharing of one model's queue, driven as ModelScheduler drives it, on a virtual
 * clock: on arrival a tag from FairShare, then admission; after every arrival and completion,
 * the batching policy on one instance. Each request costs COST ms and runs alone.
 */

const COST = 10;
const alone: BatchingConfig = { maxBatchSize: 0 };

interface Send { at: number; tenant: string; weight?: number; priority?: number; deadlineMs?: number }
interface Served { seq: number; tenant: string; arrival: number; start: number; priority: number }

function run(sends: readonly Send[], opts: { tenants: boolean; levels?: number }): Served[] {
  const rules: QueueRules = {
    priorityLevels: opts.levels ?? 0, defaultLevel: opts.levels ?? 1, defaultRules: NO_LIMITS, levelRules: {}, defaultDeadlineMs: 0, maxQueueSize: 0,
  };
  const fair = new FairShare();
  const arrivals = sends.map((s, seq) => ({ ...s, seq })).sort((a, b) => a.at - b.at || a.seq - b.seq);
  const pending: Array<PendingRequest & { who: string }> = [];
  const served: Served[] = [];
  let busyUntil = 0;
  let next = 0;
  while (next < arrivals.length || pending.length > 0) {
    // The next event: an arrival, or the instance freeing up with work waiting.
    const now = pending.length > 0 ? Math.min(busyUntil, arrivals[next]?.at ?? Infinity) : Math.max(arrivals[next]!.at, 0);
    while (next < arrivals.length && arrivals[next]!.at <= now) {
      const s = arrivals[next++]!;
      const level = opts.tenants ? resolveLevel(s.priority, rules) : undefined;
      const fairTag = typeof level === 'number' ? fair.startTag(level, s.tenant, pending) : undefined;
      const a = admit(
        { pending, running: [], instances: 1, batching: alone },
        { arrival: s.at, batchSize: 1, priority: s.priority, deadlineMicroseconds: s.deadlineMs && s.deadlineMs * 1000, tenant: opts.tenants ? s.tenant : undefined, fairTag },
        rules, undefined, now,
      );
      if (!a.admitted) throw new Error(a.message);
      if (fairTag !== undefined) fair.commit(level as number, s.tenant, s.weight ?? 1, 1, fairTag);
      const r = { seq: s.seq, arrival: s.at, batchSize: 1, shapeKey: '', ...a.ticket, who: s.tenant };
      for (const c of retag(pending, r)) c.request.fairTag = c.fairTag;
      pending.push(r);
    }
    if (busyUntil <= now && pending.length > 0) {
      const plan = schedule({ pending, idleInstances: [0] }, alone, now);
      expect(plan.refuse).toEqual([]);
      for (const d of plan.dispatch) {
        const i = pending.findIndex((p) => p.seq === d.seqs[0]);
        const [p] = pending.splice(i, 1);
        served.push({ seq: p!.seq, tenant: p!.who, arrival: p!.arrival, start: now, priority: p!.priority ?? 1 });
        busyUntil = now + COST;
      }
    }
  }
  return served;
}

const flood = (tenant: string, n: number, at = 0, more: Partial<Send> = {}): Send[] => Array.from({ length: n }, () => ({ at, tenant, ...more }));
const every = (tenant: string, n: number, periodMs: number, start = 0): Send[] => Array.from({ length: n }, (_, i) => ({ at: start + i * periodMs, tenant }));
const waits = (served: Served[], tenant: string) => served.filter((s) => s.tenant === tenant).map((s) => s.start - s.arrival);

describe('weighted fair sharing of a model queue', () => {
  const workload = [...flood('noisy', 100), ...every('quiet', 10, 50, 5)];

  it('a quiet tenant is served promptly while a noisy one floods the queue', () => {
    const quiet = waits(run(workload, { tenants: true }), 'quiet');
    expect(quiet).toHaveLength(10);
    // At worst behind the request running and one of the noisy tenant's.
    for (const w of quiet) expect(w).toBeLessThanOrEqual(2 * COST);
  });

  it('without tenants the same workload is first come, first served, and the quiet tenant waits out the flood', () => {
    const quiet = waits(run(workload, { tenants: false }), 'quiet');
    expect(Math.min(...quiet)).toBeGreaterThanOrEqual(500);
  });

  it('shares a backlogged queue in proportion to the weights', () => {
    const served = run([...flood('heavy', 100, 0, { weight: 2 }), ...flood('light', 100, 0, { weight: 1 })], { tenants: true });
    const first = served.slice(0, 60);
    expect(first.filter((s) => s.tenant === 'heavy')).toHaveLength(40);
    expect(first.filter((s) => s.tenant === 'light')).toHaveLength(20);
    // Interleaved all along, not in runs: never more than two heavy in a row.
    const runs = first.map((s) => s.tenant).join(',').split('light').map((r) => r.split('heavy').length - 1);
    expect(Math.max(...runs)).toBeLessThanOrEqual(2);
  });

  it('a tenant that was idle banks no credit: it shares from the moment it sends, not before', () => {
    const served = run([...flood('busy', 100), ...flood('late', 20, 500)], { tenants: true });
    const after = served.filter((s) => s.start >= 500).slice(0, 20);
    expect(after.filter((s) => s.tenant === 'late')).toHaveLength(10);
  });

  it('priority levels still come first, whatever the tenant', () => {
    const served = run([...flood('noisy', 20, 0, { priority: 1 }), ...flood('quiet', 3, 0, { priority: 2 })], { tenants: true, levels: 2 });
    expect(served.slice(0, 20).every((s) => s.priority === 1)).toBe(true);
  });

  it('within a tenant, earliest deadline first; across tenants, the fair interleaving is unchanged', () => {
    // a sends three requests, the last with a deadline; b sends three.
    const sends: Send[] = [
      { at: 0, tenant: 'a' }, { at: 0, tenant: 'a' }, { at: 0, tenant: 'a', deadlineMs: 1000 },
      { at: 0, tenant: 'b' }, { at: 0, tenant: 'b' }, { at: 0, tenant: 'b' },
    ];
    const served = run(sends, { tenants: true });
    expect(served.map((s) => s.tenant)).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(served.filter((s) => s.tenant === 'a').map((s) => s.seq)).toEqual([2, 0, 1]);
  });
});

describe('serving order without tenants', () => {
  it('is priority, deadline, arrival, as before tenants', () => {
    const served = run([{ at: 0, tenant: 'x' }, { at: 1, tenant: 'y' }, { at: 2, tenant: 'x', deadlineMs: 100 }, { at: 3, tenant: 'y' }], { tenants: false });
    expect(served.map((s) => s.seq)).toEqual([0, 2, 1, 3]);
  });
});
