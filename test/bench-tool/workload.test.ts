/**
 * The pure, seeded workload: arrival processes have the mean and variability asked for,
 * popularity ranks models as asked, traces parse, and a seed replays the same arrivals.
 * Everything here is deterministic for its seed; the tolerances are what the sample size
 * allows (about 3 standard errors), not allowances for noise.
 */
import { describe, expect, it } from 'vitest';
import { gamma, rng, substream } from '../../src/bench/random.js';
import {
  arrivalTimes, describeWorkload, interarrivalMs, modelPicker, parseTrace, popularityWeights, workloadArrivals, type ArrivalProcess,
} from '../../src/bench/workload.js';

function meanCv(xs: number[]): { mean: number; cv: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, cv: Math.sqrt(variance) / mean };
}

const gaps = (p: ArrivalProcess, n: number, seed = 7): number[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => interarrivalMs(p, r));
};

describe('arrival processes', () => {
  it('Poisson at 200/s: mean gap 5 ms (±2%), CV 1 (±2%)', () => {
    const { mean, cv } = meanCv(gaps({ kind: 'poisson', ratePerS: 200 }, 100_000));
    expect(mean).toBeCloseTo(5, 0);
    expect(Math.abs(mean / 5 - 1)).toBeLessThan(0.02);
    expect(Math.abs(cv - 1)).toBeLessThan(0.02);
  });

  for (const cv of [0.5, 2, 4]) {
    it(`gamma at 100/s with CV ${cv}: mean gap 10 ms and CV ${cv} (±${cv > 1 ? 6 : 2}%)`, () => {
      const s = meanCv(gaps({ kind: 'gamma', ratePerS: 100, cv }, 200_000));
      // The mean's standard error is cv/√n; a heavy-tailed CV estimate converges more slowly still.
      expect(Math.abs(s.mean / 10 - 1)).toBeLessThan(0.03);
      expect(Math.abs(s.cv / cv - 1)).toBeLessThan(cv > 1 ? 0.06 : 0.02);
    });
  }

  it('constant arrivals are evenly spaced', () => {
    expect([...arrivalTimes({ kind: 'constant', ratePerS: 4 }, rng(1), 1000)]).toEqual([250, 500, 750]);
  });

  it('gamma draws are positive for shapes below and above 1', () => {
    const r = rng(3);
    for (const k of [0.05, 0.7, 1, 9]) for (let i = 0; i < 1000; i++) expect(gamma(r, k, 1)).toBeGreaterThan(0);
  });

  it('arrival times stay inside the horizon and ascend', () => {
    const ts = [...arrivalTimes({ kind: 'poisson', ratePerS: 1000 }, rng(2), 500)];
    expect(ts.length).toBeGreaterThan(400);
    expect(ts.every((t, i) => t < 500 && (i === 0 || t >= ts[i - 1]!))).toBe(true);
  });

  it('rejects a rate of zero and a gamma without CV', () => {
    expect(() => [...arrivalTimes({ kind: 'poisson', ratePerS: 0 }, rng(1), 10)]).toThrow(/rate/);
    expect(() => [...arrivalTimes({ kind: 'gamma', ratePerS: 5, cv: 0 }, rng(1), 10)]).toThrow(/cv/);
  });
});

describe('seeds', () => {
  const w = { kind: 'open' as const, process: { kind: 'poisson' as const, ratePerS: 50 }, models: ['a', 'b'], popularity: { kind: 'uniform' as const }, durationMs: 2000 };

  it('the same seed replays the same arrivals; another seed does not', () => {
    expect([...workloadArrivals(w, 5)]).toEqual([...workloadArrivals(w, 5)]);
    expect([...workloadArrivals(w, 6)]).not.toEqual([...workloadArrivals(w, 5)]);
  });

  it('adding a model changes which model each request goes to, not when it arrives', () => {
    const times = (models: string[]) => [...workloadArrivals({ ...w, models }, 5)].map((a) => a.atMs);
    expect(times(['a', 'b', 'c'])).toEqual(times(['a', 'b']));
  });

  it('substreams of one seed are independent of each other', () => {
    const a = substream(1, 'arrivals');
    const b = substream(1, 'model');
    expect(Array.from({ length: 5 }, a)).not.toEqual(Array.from({ length: 5 }, b));
  });
});

describe('popularity', () => {
  it('Zipf ranks models in the order given, with weights 1/rank^s', () => {
    const w = popularityWeights(['m1', 'm2', 'm3', 'm4'], { kind: 'zipf', s: 1 });
    const h = 1 + 1 / 2 + 1 / 3 + 1 / 4;
    w.forEach((x, i) => expect(x).toBeCloseTo(1 / (i + 1) / h, 12));
  });

  it('draws follow the weights: Zipf(1.2) over 5 models, 100 000 draws, each share within 1 point', () => {
    const models = ['a', 'b', 'c', 'd', 'e'];
    const pick = modelPicker(models, { kind: 'zipf', s: 1.2 });
    const r = rng(9);
    const counts = new Map(models.map((m) => [m, 0]));
    for (let i = 0; i < 100_000; i++) {
      const m = pick(r);
      counts.set(m, counts.get(m)! + 1);
    }
    const shares = models.map((m) => counts.get(m)! / 100_000);
    expect([...shares].sort((x, y) => y - x)).toEqual(shares);
    popularityWeights(models, { kind: 'zipf', s: 1.2 }).forEach((want, i) => expect(Math.abs(shares[i]! - want)).toBeLessThan(0.01));
  });

  it('uniform popularity is flat and Zipf with s = 0 is uniform', () => {
    expect(popularityWeights(['a', 'b', 'c', 'd'], { kind: 'uniform' })).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(popularityWeights(['a', 'b'], { kind: 'zipf', s: 0 })).toEqual([0.5, 0.5]);
  });
});

describe('traces', () => {
  it('parses timestamp_ms,model[,deadline_ms] with a header and comments, sorted by time', () => {
    const rows = parseTrace('timestamp_ms,model,deadline_ms\n# a comment\n20,cnn,50\n\n0, mlp\n10,mlp,\n');
    expect(rows).toEqual([{ atMs: 0, model: 'mlp' }, { atMs: 10, model: 'mlp' }, { atMs: 20, model: 'cnn', deadlineMs: 50 }]);
    expect(describeWorkload({ kind: 'trace', rows })).toBe('trace replay: 3 requests over 0.0 s to mlp, cnn');
  });

  it('names the line of a bad row', () => {
    expect(() => parseTrace('0,a\nsoon,b\n')).toThrow(/line 2: timestamp_ms 'soon'/);
    expect(() => parseTrace('0,a\n5,\n')).toThrow(/line 2: no model/);
    expect(() => parseTrace('0,a,-3\n')).toThrow(/line 1: deadline_ms/);
  });

  it('a trace workload plays its rows as they are', () => {
    const rows = parseTrace('0,a\n5,b,9\n');
    expect([...workloadArrivals({ kind: 'trace', rows }, 1)]).toEqual(rows);
  });
});
