import { describe, expect, it } from 'vitest';
import { substream } from '../../src/bench/random.js';
import { ModelAffinity } from '../../src/routing/affinity.js';
import { type ClusterView, leastOutstanding, powerOfTwo, RoundRobin, router } from '../../src/routing/router.js';

function view(outstanding: number[], resident: Record<number, string[]> = {}): ClusterView {
  return {
    size: outstanding.length, outstanding, totalOutstanding: outstanding.reduce((a, b) => a + b, 0),
    hasModel: (node, model) => resident[node]?.includes(model) ?? false,
  };
}

const counts = (picks: number[], n: number): number[] => {
  const c = new Array<number>(n).fill(0);
  for (const p of picks) c[p]!++;
  return c;
};

describe('round robin', () => {
  it('visits each node in turn whatever the load', () => {
    const r = new RoundRobin();
    const v = view([9, 0, 5]);
    expect(Array.from({ length: 7 }, () => r.route('m', v))).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });
});

describe('least outstanding', () => {
  it('picks the least loaded node', () => {
    expect(leastOutstanding.route('m', view([4, 2, 7, 3]), substream(1, 't'))).toBe(1);
  });

  it('breaks ties at random, preferring a node that has the model', () => {
    const rng = substream(2, 't');
    const idle = view([0, 0, 0, 0]);
    expect(new Set(Array.from({ length: 200 }, () => leastOutstanding.route('m', idle, rng))).size).toBe(4);
    const warm = view([0, 0, 0, 0], { 2: ['m'] });
    expect(Array.from({ length: 50 }, () => leastOutstanding.route('m', warm, rng))).toEqual(new Array(50).fill(2));
  });
});

describe('power of two choices', () => {
  it('never picks the busier of the two it draws, so the single busiest node is never chosen', () => {
    const rng = substream(3, 't');
    const v = view([1, 1, 50, 1, 1]);
    const picks = Array.from({ length: 2000 }, () => powerOfTwo.route('m', v, rng));
    expect(picks).not.toContain(2);
    expect(counts(picks, 5).filter((c) => c > 300)).toHaveLength(4);
  });

  it('is reproducible for a seed', () => {
    const a = Array.from({ length: 20 }, ((rng) => () => powerOfTwo.route('m', view([0, 1, 2, 3, 4, 5]), rng))(substream(9, 't')));
    const b = Array.from({ length: 20 }, ((rng) => () => powerOfTwo.route('m', view([0, 1, 2, 3, 4, 5]), rng))(substream(9, 't')));
    expect(a).toEqual(b);
  });
});

describe('model affinity', () => {
  it('sends a model to the same node while loads are even, and different models to different nodes', () => {
    const r = new ModelAffinity();
    const v = view(new Array(16).fill(0));
    const homes = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((m) => r.route(m, v));
    for (const [i, m] of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].entries()) expect(r.route(m, v)).toBe(homes[i]);
    expect(new Set(homes).size).toBeGreaterThanOrEqual(4);
  });

  it('moves only the models of a node that leaves (consistent hashing)', () => {
    const r = new ModelAffinity();
    const models = Array.from({ length: 200 }, (_, i) => `model-${i}`);
    const before = models.map((m) => r.preference(m, 10));
    const after = models.map((m) => r.preference(m, 9));
    // With node 9 gone, a model keeps its home unless its home was node 9.
    models.forEach((_, i) => {
      if (before[i]![0] !== 9) expect(after[i]![0]).toBe(before[i]![0]);
      else expect(after[i]![0]).toBe(before[i]![1]);
    });
  });

  it('spills a hot model to the next node on the ring once its home holds more than its share', () => {
    const r = new ModelAffinity(1.25);
    const [home, next] = r.preference('hot', 4);
    const loads = [2, 2, 2, 2];
    loads[home!] = 10;
    expect(r.route('hot', view(loads))).toBe(next);
  });
});

describe('router by name', () => {
  it('knows the four policies', () => {
    for (const name of ['round-robin', 'least-outstanding', 'power-of-two', 'model-affinity'] as const) expect(router(name).name).toBe(name);
  });
});
