import { describe, expect, it } from 'vitest';
import { Lateness } from '../../src/scheduling/lateness.js';

describe('Lateness', () => {
  it('is 0 with no samples, and never negative when requests finish early', () => {
    const l = new Lateness();
    expect(l.marginMs(0)).toBe(0);
    for (let i = 0; i < 10; i++) l.observe(-5, i);
    expect(l.marginMs(10)).toBe(0);
  });

  it('is a high quantile of recent lateness, so a few outliers do not set it', () => {
    const l = new Lateness({ window: 20, quantile: 0.9 });
    // 18 requests 2 ms late, 2 very late: the 90th percentile is 2 ms.
    for (let i = 0; i < 18; i++) l.observe(2, i);
    l.observe(40, 18);
    l.observe(50, 19);
    expect(l.marginMs(20)).toBe(2);
    // One more very late one lifts the quantile to the outliers.
    l.observe(45, 21);
    expect(l.marginMs(21)).toBe(40);
  });

  it('keeps only the newest `window` samples', () => {
    const l = new Lateness({ window: 4, quantile: 1 });
    for (const [ms, t] of [[30, 0], [1, 1], [1, 2], [1, 3]] as const) l.observe(ms, t);
    expect(l.marginMs(3)).toBe(30);
    l.observe(1, 4);
    expect(l.marginMs(4)).toBe(1);
  });

  it('forgets samples as they age, so a margin learnt under load does not outlive it', () => {
    const l = new Lateness({ maxAgeMs: 1000, quantile: 1 });
    l.observe(10, 0);
    l.observe(4, 500);
    expect(l.marginMs(900)).toBe(10);
    expect(l.marginMs(1200)).toBe(4);
    expect(l.marginMs(1600)).toBe(0);
  });
});
