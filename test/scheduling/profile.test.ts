import { describe, expect, it } from 'vitest';
import { LatencyProfile } from '../../src/scheduling/profile.js';

describe('LatencyProfile', () => {
  it('knows nothing before the first batch', () => {
    expect(new LatencyProfile().estimate(1)).toBeUndefined();
  });

  it('takes the first sample as is, then a moving average per batch size', () => {
    const p = new LatencyProfile({ weight: 0.5 });
    p.observe(4, 10);
    expect(p.estimate(4)).toBe(10);
    p.observe(4, 20);
    expect(p.estimate(4)).toBe(15);
    p.observe(4, 15);
    expect(p.estimate(4)).toBe(15);
    expect(p.snapshot()).toEqual([{ rows: 4, ms: 15, samples: 3 }]);
  });

  it('from one batch size, guesses on the cheap side: proportional below, flat above', () => {
    const p = new LatencyProfile();
    p.observe(4, 20);
    expect(p.estimate(2)).toBe(10);
    expect(p.estimate(16)).toBe(20);
  });

  it('interpolates between observed sizes', () => {
    const p = LatencyProfile.from([{ rows: 2, ms: 10, samples: 1 }, { rows: 8, ms: 22, samples: 1 }]);
    expect(p.estimate(4)).toBe(14);
    expect(p.estimate(5)).toBe(16);
  });

  it('extrapolates with the fitted cost of a row (a + b·rows)', () => {
    // 8 + 2·rows, observed at 2, 4 and 8.
    const p = LatencyProfile.from([2, 4, 8].map((rows) => ({ rows, ms: 8 + 2 * rows, samples: 1 })));
    expect(p.estimate(16)).toBe(40);
    expect(p.estimate(1)).toBe(10);
  });

  it('never predicts a bigger batch to be faster, nor a negative time', () => {
    const p = LatencyProfile.from([{ rows: 2, ms: 30, samples: 1 }, { rows: 8, ms: 10, samples: 1 }]);
    expect(p.estimate(32)).toBe(10);
    const steep = LatencyProfile.from([{ rows: 4, ms: 4, samples: 1 }, { rows: 8, ms: 40, samples: 1 }]);
    expect(steep.estimate(1)).toBe(1); // the fit gives -23; proportional to the smallest size instead
  });

  it('ignores samples that make no sense instead of averaging them in', () => {
    const p = new LatencyProfile();
    for (const [rows, ms] of [[0, 5], [1.5, 5], [2, -1], [2, Number.NaN], [2, Infinity]] as const) p.observe(rows, ms);
    expect(p.snapshot()).toEqual([]);
  });

  it('follows a change in speed at the rate its weight says', () => {
    const p = new LatencyProfile({ weight: 0.2 });
    p.observe(1, 10);
    for (let i = 0; i < 20; i++) p.observe(1, 20);
    expect(p.estimate(1)).toBeGreaterThan(19.8);
    expect(() => new LatencyProfile({ weight: 0 })).toThrow(RangeError);
  });

  it('a snapshot seeds another profile', () => {
    const p = new LatencyProfile();
    p.observe(1, 5);
    p.observe(8, 12);
    const copy = LatencyProfile.from(p.snapshot());
    expect(copy.snapshot()).toEqual(p.snapshot());
    expect(copy.estimate(4)).toBe(p.estimate(4));
  });
});
