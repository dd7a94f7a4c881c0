import { describe, expect, it } from 'vitest';
import type { PointStats } from '../../src/bench/recorder.js';
import { answerCounts, memoryShape } from '../../bench/issue3/overload.js';

describe('answerCounts', () => {
  it('splits errors into refusals, other answers and silence', () => {
    const errors = {
      'HTTP 429': { count: 30, sample: '' }, 'HTTP 503': { count: 2, sample: '' }, 'HTTP 500': { count: 1, sample: '' },
      timeout: { count: 4, sample: '' }, 'connection reset': { count: 1, sample: '' }, 'network ECONNABORTED': { count: 1, sample: '' },
    };
    const s = { sent: 100, ok: 61, errors } as unknown as PointStats;
    expect(answerCounts(s)).toEqual({ sent: 100, answered: 61, refused: 32, otherErrors: 1, unanswered: 6 });
  });
});

describe('memoryShape', () => {
  const mb = 2 ** 20;
  it('reads start, middle and end, and calls growth over the second half within the limit flat', () => {
    const rss = [0, 1, 2, 3, 4].map((t) => ({ tS: t * 15, bytes: (200 + t * 2) * mb }));
    expect(memoryShape(rss, 60, 0.1)).toEqual({ start: 200 * mb, middle: 204 * mb, end: 208 * mb, max: 208 * mb, flat: true });
  });

  it('is not flat when memory keeps climbing, nor when nothing was sampled', () => {
    const rss = [0, 1, 2].map((t) => ({ tS: t * 30, bytes: (100 + t * 50) * mb }));
    expect(memoryShape(rss, 60, 0.1).flat).toBe(false);
    expect(memoryShape([], 60, 0.1).flat).toBe(false);
  });
});
