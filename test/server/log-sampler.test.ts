import { describe, expect, it } from 'vitest';
import { LogSampler, OVERFLOW_KEY } from '../../src/server/log-sampler.js';

describe('LogSampler', () => {
  it('writes the first lines of each kind per window and counts the rest', () => {
    const s = new LogSampler<number>({ windowMs: 1000, perWindow: 2 });
    const writes = [0, 1, 2, 3, 4].map((i) => s.offer('a', i, 10 + i).write);
    expect(writes).toEqual([true, true, false, false, false]);
    // Another kind has its own allowance in the same window.
    expect(s.offer('b', 9, 20).write).toBe(true);
    // The next window reports what the last one held back, with the first held line as example.
    const next = s.offer('a', 5, 1010);
    expect(next.write).toBe(true);
    expect(next.closed).toEqual([{ key: 'a', count: 3, example: 2 }]);
  });

  it('flush reports what is held back and opens a new window', () => {
    const s = new LogSampler<string>({ windowMs: 1000, perWindow: 1 });
    s.offer('k', 'x', 0);
    s.offer('k', 'y', 1);
    s.offer('k', 'z', 2);
    expect(s.flush(500)).toEqual([{ key: 'k', count: 2, example: 'y' }]);
    expect(s.flush(600)).toEqual([]);
    expect(s.offer('k', 'w', 700).write).toBe(true);
  });

  it('tracks a bounded number of kinds, however many distinct keys requests bring', () => {
    const s = new LogSampler<number>({ windowMs: 1000, perWindow: 1, maxKeys: 3 });
    const written = Array.from({ length: 1000 }, (_, i) => s.offer(`model-${i}`, i, 5).write).filter(Boolean).length;
    // Three tracked keys and the overflow key each wrote one line.
    expect(written).toBe(4);
    const held = s.flush(6);
    expect(held).toEqual([{ key: OVERFLOW_KEY, count: 996, example: 4 }]);
  });
});
