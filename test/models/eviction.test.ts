import { describe, expect, it } from 'vitest';
import { ADMISSION_MARGIN, RateMeter, type ResidentModel, evictionPolicy, residencyValue } from '../../src/models/eviction.js';
import { HostCache } from '../../src/models/host-cache.js';
import { backoffRemainingMs, canWaitForLoad, recordFailure, retryAt } from '../../src/models/loading.js';

const MB = 1024 * 1024;
const model = (name: string, over: Partial<ResidentModel> = {}): ResidentModel => ({
  name, footprintBytes: 10 * MB, lastUsedAt: 0, loadMs: 100, recentRate: 0, busy: false, pinned: false, ...over,
});

describe('LRU eviction', () => {
  const lru = evictionPolicy('lru');

  it('evicts nothing when the newcomer already fits', () => {
    expect(lru.chooseVictims([model('a'), model('b')], 10 * MB, 30 * MB, 0)).toEqual([]);
  });

  it('evicts the least recently used first, only as many as needed', () => {
    const resident = [model('a', { lastUsedAt: 30 }), model('b', { lastUsedAt: 10 }), model('c', { lastUsedAt: 20 })];
    expect(lru.chooseVictims(resident, 10 * MB, 30 * MB, 100)).toEqual(['b']);
    expect(lru.chooseVictims(resident, 20 * MB, 30 * MB, 100)).toEqual(['b', 'c']);
  });

  it('never evicts busy or pinned models, and says undefined when the rest cannot make room', () => {
    const resident = [model('busy', { busy: true }), model('pinned', { pinned: true, lastUsedAt: -5 }), model('idle', { lastUsedAt: 50 })];
    expect(lru.chooseVictims(resident, 10 * MB, 30 * MB, 100)).toEqual(['idle']);
    expect(lru.chooseVictims(resident, 20 * MB, 30 * MB, 100)).toBeUndefined();
    expect(lru.chooseVictims([], 40 * MB, 30 * MB, 0)).toBeUndefined();
  });

  it('gives back a victim that a later, larger one makes needless', () => {
    // Order: small (oldest) then big; big alone frees enough, so small stays.
    const resident = [model('small', { footprintBytes: 1 * MB, lastUsedAt: 1 }), model('big', { footprintBytes: 20 * MB, lastUsedAt: 2 })];
    expect(lru.chooseVictims(resident, 10 * MB, 25 * MB, 10)).toEqual(['big']);
  });
});

describe('cost-aware eviction', () => {
  const cost = evictionPolicy('cost-aware');

  it('keeps the model whose reload per byte costs most per second, whatever its recency', () => {
    // hot: used often and slow to load; cold: recently used once, cheap to reload.
    const hot = model('hot', { recentRate: 5, loadMs: 800, lastUsedAt: 10 });
    const cold = model('cold', { recentRate: 0.1, loadMs: 50, lastUsedAt: 90 });
    expect(evictionPolicy('lru').chooseVictims([hot, cold], 10 * MB, 20 * MB, 100)).toEqual(['hot']);
    expect(cost.chooseVictims([hot, cold], 10 * MB, 20 * MB, 100)).toEqual(['cold']);
  });

  it('weighs size: of two equally used models, the larger per reload-millisecond goes first', () => {
    const big = model('big', { footprintBytes: 40 * MB, recentRate: 1, loadMs: 100 });
    const small = model('small', { footprintBytes: 5 * MB, recentRate: 1, loadMs: 100 });
    expect(residencyValue(big)).toBeLessThan(residencyValue(small));
    expect(cost.chooseVictims([small, big], 5 * MB, 45 * MB, 0)).toEqual(['big']);
  });

  it('falls back to least recently used among idle models, and skips busy and pinned ones', () => {
    const resident = [
      model('a', { lastUsedAt: 5 }), model('b', { lastUsedAt: 1 }),
      model('p', { pinned: true }), model('q', { busy: true, recentRate: 0 }),
    ];
    expect(cost.chooseVictims(resident, 10 * MB, 40 * MB, 10)).toEqual(['b']);
    expect(cost.chooseVictims(resident, 40 * MB, 40 * MB, 10)).toBeUndefined();
  });

  it('declines a load worth less than twice the models it would evict together (rate × reload time), and takes one worth more', () => {
    // 250 reload-ms/s together, so a load must be worth twice that (ADMISSION_MARGIN).
    const victims = [model('a', { recentRate: 2, loadMs: 100 }), model('b', { recentRate: 1, loadMs: 50 })];
    expect(ADMISSION_MARGIN).toBe(2);
    expect(cost.worthLoading!(victims, { recentRate: 4, loadMs: 100 })).toBe(false);
    expect(cost.worthLoading!(victims, { recentRate: 5, loadMs: 100 })).toBe(true);
    // A slow load weighs as much as a popular model: evicting it would cost as much to undo.
    expect(cost.worthLoading!(victims, { recentRate: 1, loadMs: 500 })).toBe(true);
    expect(cost.worthLoading!([], { recentRate: 0, loadMs: 0 })).toBe(true);
  });

  it('has LRU load whatever it asks for (LRU admits everything)', () => {
    expect(evictionPolicy('lru').worthLoading).toBeUndefined();
  });
});

describe('cost-aware admission under thrash (virtual clock, Zipf demand)', () => {
  /**
   * Requests for 20 models of equal size and load time with Zipf(1.0) demand, a budget of 5, and
   * a congested lane (every miss is a load to weigh): with admission the 5 most requested stay;
   * evicting by value alone still loads every miss, each evicting one of them for a while.
   */
  function play(admit: boolean): { hits: number; loads: number } {
    const cost = evictionPolicy('cost-aware');
    const names = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const weights = names.map((_, i) => 1 / (i + 1));
    const total = weights.reduce((a, b) => a + b, 0);
    const meters = new Map(names.map((n) => [n, new RateMeter(30_000)]));
    const resident = new Map<string, ResidentModel>();
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    let hits = 0;
    let loads = 0;
    for (let t = 0; t < 60_000; t += 10) {
      let x = random() * total;
      let i = 0;
      while (x > weights[i]! && i < names.length - 1) x -= weights[i++]!;
      const name = names[i]!;
      meters.get(name)!.record(t);
      const view = [...resident.values()].map((m) => ({ ...m, recentRate: meters.get(m.name)!.rate(t) }));
      if (resident.has(name)) {
        hits++;
        resident.get(name)!.lastUsedAt = t;
        continue;
      }
      const victims = cost.chooseVictims(view, 10 * MB, 50 * MB, t)!;
      const chosen = view.filter((m) => victims.includes(m.name));
      if (admit && !cost.worthLoading!(chosen, { recentRate: meters.get(name)!.rate(t), loadMs: 100 })) continue;
      for (const v of victims) resident.delete(v);
      resident.set(name, model(name, { lastUsedAt: t }));
      loads++;
    }
    return { hits, loads };
  }

  it('keeps the popular models resident, with far fewer loads and more hits than loading every miss', () => {
    const withAdmission = play(true);
    const without = play(false);
    expect(withAdmission.loads).toBeLessThan(without.loads / 5);
    expect(withAdmission.hits).toBeGreaterThan(without.hits);
  });
});

describe('RateMeter', () => {
  it('measures the rate of a quantity when events weigh more than one: ms of loading per second', () => {
    const m = new RateMeter(5_000);
    // A 100 ms load every 200 ms, for a minute: half the time.
    for (let t = 0; t <= 60_000; t += 200) m.record(t, 100);
    expect(m.rate(60_000) / 1000).toBeCloseTo(0.5, 1);
    expect(m.rate(65_000) / 1000).toBeCloseTo(0.25, 1);
  });

  it('settles at the request rate and decays by half each half-life once requests stop', () => {
    const m = new RateMeter(10_000);
    let t = 0;
    for (let i = 0; i < 2000; i++) m.record((t += 200)); // 5 per second for 400 s
    expect(m.rate(t)).toBeGreaterThan(4.8);
    expect(m.rate(t)).toBeLessThan(5.3);
    const before = m.rate(t);
    expect(m.rate(t + 10_000)).toBeCloseTo(before / 2, 6);
    expect(new RateMeter(1000).rate(123)).toBe(0);
  });
});

describe('load back-off', () => {
  it('doubles the wait after each failure up to the maximum, and allows a try once it passed', () => {
    const opts = { baseMs: 1000, maxMs: 5000 };
    let f = recordFailure(undefined, 0, 'bad file');
    expect(retryAt(f, opts)).toBe(1000);
    expect(backoffRemainingMs(f, 400, opts)).toBe(600);
    expect(backoffRemainingMs(f, 1000, opts)).toBe(0);
    f = recordFailure(f, 1000, 'bad file');
    expect(retryAt(f, opts)).toBe(3000);
    f = recordFailure(recordFailure(f, 3000, 'x'), 7000, 'x');
    expect(f.failures).toBe(4);
    expect(retryAt(f, opts)).toBe(12_000); // capped at 5 s, not 8 s
    expect(backoffRemainingMs(undefined, 0, opts)).toBe(0);
  });

  it('lets a request wait for a load only when what is left of it fits the wait', () => {
    expect(canWaitForLoad(300, 200, 0)).toBe(false);
    expect(canWaitForLoad(300, 200, 150, 0)).toBe(true); // started 150 ms ago: 150 ms left
    expect(canWaitForLoad(0, 0, 0)).toBe(true); // unknown cost: wait, the scheduler enforces the deadline
  });
});

describe('HostCache', () => {
  it('keeps the most recent entries within its budget and hands each out once', () => {
    const c = new HostCache(10);
    c.put('a', new Uint8Array(4));
    c.put('b', new Uint8Array(4));
    c.put('c', new Uint8Array(4)); // a goes
    expect(c.has('a')).toBe(false);
    expect(c.bytes).toBe(8);
    expect(c.take('b')?.byteLength).toBe(4);
    expect(c.take('b')).toBeUndefined();
    expect(c.put('huge', new Uint8Array(11))).toBe(false);
    expect(c.bytes).toBe(4);
  });
});
