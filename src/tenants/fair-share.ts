import { type PendingRequest, byUrgency } from '../scheduling/queue-policy.js';

/**
 * The bookkeeping of start-time fair queuing (Goyal et al., 1996) for one model version's
 * queue: the virtual start time (`fairTag`) each admitted request gets, from which
 * `serveOrder` shares a priority level among tenants in proportion to their weights.
 *
 * A request of tenant t starts at max(V, F_t): V, the level's virtual time, is the smallest
 * tag still waiting (or, with nothing waiting, the largest finish handed out), and F_t is
 * where t's previous request finished, its start plus rows ÷ weight. A tenant that floods
 * the queue pushes only its own tags ahead; one that was idle starts at V, so it banks no
 * credit for the time it sent nothing, and waits behind at most one request of each other
 * tenant. Plain state, no clock: virtual time counts rows served per unit of weight.
 */
export class FairShare {
  private readonly levels = new Map<number, { finish: Map<string, number>; last: number }>();

  /** The tag a request of `tenant` at `level` would get now, `pending` being the queue. Changes nothing. */
  startTag(level: number, tenant: string, pending: readonly PendingRequest[]): number {
    let v = Infinity;
    for (const p of pending) if (p.fairTag !== undefined && p.fairTag < v && (p.priority ?? 1) === level) v = p.fairTag;
    const state = this.levels.get(level);
    if (v === Infinity) v = state?.last ?? 0;
    return Math.max(v, state?.finish.get(tenant) ?? 0);
  }

  /** Records an admitted request that got `tag`. */
  commit(level: number, tenant: string, weight: number, rows: number, tag: number): void {
    let state = this.levels.get(level);
    if (!state) this.levels.set(level, (state = { finish: new Map(), last: 0 }));
    const finish = tag + rows / weight;
    state.finish.set(tenant, finish);
    state.last = Math.max(state.last, finish);
  }
}

/**
 * Where a newly admitted request (tagged by startTag) goes among its tenant's waiting requests
 * of the same level: the group's tags are dealt out again in the group's own order (earliest
 * deadline, then arrival), so a tenant's urgent request takes the tenant's earliest slot. The
 * tenant's set of tags, and with it its share against the other tenants, stays as it was.
 * Returns the requests whose tag changes; the caller, which owns the queue, applies them.
 */
export function retag<T extends PendingRequest>(pending: readonly T[], arrived: T): Array<{ request: T; fairTag: number }> {
  if (arrived.fairTag === undefined) return [];
  const level = arrived.priority ?? 1;
  const group = pending.filter((p) => p !== arrived && p.fairTag !== undefined && p.tenant === arrived.tenant && (p.priority ?? 1) === level);
  if (group.length === 0) return [];
  group.push(arrived);
  const tags = group.map((p) => p.fairTag!).sort((a, b) => a - b);
  const changes: Array<{ request: T; fairTag: number }> = [];
  group.sort(byUrgency).forEach((p, i) => {
    if (p.fairTag !== tags[i]) changes.push({ request: p, fairTag: tags[i]! });
  });
  return changes;
}
