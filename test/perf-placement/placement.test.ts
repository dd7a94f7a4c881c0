/** The pure inline-or-worker decision and the estimates behind it (src/backends/onnx/placement.ts). */
import { describe, expect, it } from 'vitest';
import { MAX_INLINE_MS, RecentSamples, RunCosts, WINDOW, choosePlacement, sizeClass } from '../../src/backends/onnx/placement.js';

describe('choosePlacement', () => {
  const measured = { computeMs: 0.01, hopMs: 0.05, inlineAllowed: true };

  it('runs inline only a batch measured cheaper than the hop', () => {
    expect(choosePlacement(measured)).toBe('inline');
    expect(choosePlacement({ ...measured, computeMs: 0.05 })).toBe('worker');
    expect(choosePlacement({ ...measured, computeMs: 0.06 })).toBe('worker');
  });

  it('sends anything not yet measured to the worker, which measures it', () => {
    expect(choosePlacement({ ...measured, computeMs: undefined })).toBe('worker');
    expect(choosePlacement({ ...measured, hopMs: undefined })).toBe('worker');
  });

  it('never runs inline a session that may not, or a batch over the cap, however dear the hop', () => {
    expect(choosePlacement({ ...measured, inlineAllowed: false })).toBe('worker');
    expect(choosePlacement({ computeMs: MAX_INLINE_MS, hopMs: 10, inlineAllowed: true })).toBe('inline');
    expect(choosePlacement({ computeMs: MAX_INLINE_MS * 1.01, hopMs: 10, inlineAllowed: true })).toBe('worker');
  });
});

describe('sizeClass', () => {
  it('groups sizes by powers of two', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 127, 128].map(sizeClass)).toEqual([0, 1, 2, 2, 3, 3, 4, 7, 8]);
    expect(sizeClass(2 ** 31 - 1)).toBe(31);
    expect(sizeClass(2 ** 31)).toBe(32);
    expect(sizeClass(2 ** 40)).toBe(41);
  });

  it('never puts a larger batch in a smaller class', () => {
    let last = 0;
    for (let b = 0; b < 5000; b += 7) {
      expect(sizeClass(b)).toBeGreaterThanOrEqual(last);
      last = sizeClass(b);
    }
  });
});

describe('RecentSamples', () => {
  it('is the median of what it holds, the upper middle for an even count', () => {
    const w = new RecentSamples();
    expect(w.median).toBeUndefined();
    w.push(5);
    expect(w.median).toBe(5);
    w.push(1);
    expect(w.median).toBe(5);
    w.push(3);
    expect(w.median).toBe(3);
  });

  it('keeps only the last WINDOW samples', () => {
    const w = new RecentSamples();
    for (let i = 0; i < WINDOW; i++) w.push(100);
    for (let i = 0; i < WINDOW; i++) w.push(1);
    expect(w.median).toBe(1);
  });

  it('is not moved by a few outliers', () => {
    const w = new RecentSamples();
    for (let i = 0; i < WINDOW; i++) w.push(i % 5 === 0 ? 50 : 0.02);
    expect(w.median).toBe(0.02);
  });

  it('agrees with sorting, whatever the order of arrival', () => {
    const w = new RecentSamples();
    const seen: number[] = [];
    let x = 7;
    for (let i = 0; i < 200; i++) {
      x = (x * 48271) % 2147483647;
      const v = (x % 1000) / 10;
      w.push(v);
      seen.push(v);
      const last = seen.slice(-WINDOW).sort((a, b) => a - b);
      expect(w.median).toBe(last[last.length >> 1]);
    }
  });
});

describe('RecentSamples.lowerQuartile', () => {
  it('is the smallest of up to four samples, then the 4th smallest of 16', () => {
    const w = new RecentSamples();
    expect(w.lowerQuartile).toBeUndefined();
    for (const v of [9, 3, 7, 5]) w.push(v);
    expect(w.lowerQuartile).toBe(3);
    for (let i = 0; i < WINDOW; i++) w.push(i + 1);
    expect(w.lowerQuartile).toBe(4);
  });
});

describe('RunCosts', () => {
  it('estimates compute by the low samples: delays only ever add to a batch\'s cost', () => {
    const c = new RunCosts();
    // A batch of 20 µs whose thread was preempted half the time.
    for (let i = 0; i < WINDOW; i++) c.recordCompute(7, i % 2 ? 0.02 : 0.5);
    expect(c.computeMs(7)).toBe(0.02);
    for (let i = 0; i < WINDOW; i++) c.recordHop(i % 2 ? 0.03 : 0.2);
    expect(c.hopMs).toBe(0.2);
  });

  it('keeps one compute estimate per size class and one for the hop', () => {
    const c = new RunCosts();
    c.recordCompute(3, 0.01);
    c.recordCompute(10, 2);
    c.recordHop(0.04);
    expect(c.computeMs(3)).toBe(0.01);
    expect(c.computeMs(10)).toBe(2);
    expect(c.computeMs(4)).toBeUndefined();
    expect(c.hopMs).toBe(0.04);
  });

  it('ignores samples that cannot be times', () => {
    const c = new RunCosts();
    c.recordCompute(1, Number.NaN);
    c.recordCompute(1, -1);
    c.recordHop(-0.5);
    expect(c.computeMs(1)).toBeUndefined();
    expect(c.hopMs).toBeUndefined();
  });
});
