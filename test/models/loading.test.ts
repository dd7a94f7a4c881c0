import { describe, expect, it } from 'vitest';
import { loadWaitMs } from '../../src/models/loading.js';

describe('loadWaitMs', () => {
  it('is undefined when the request brings neither a deadline nor a timeout', () => {
    expect(loadWaitMs({ arrival: 1_000 }, 1_500)).toBeUndefined();
  });

  it('is what the deadline leaves after the time already spent since arrival', () => {
    expect(loadWaitMs({ deadlineMs: 300, arrival: 1_000 }, 1_000)).toBe(300);
    expect(loadWaitMs({ deadlineMs: 300, arrival: 1_000 }, 1_120)).toBe(180);
  });

  it('is what the timeout leaves, likewise', () => {
    expect(loadWaitMs({ timeoutMs: 50, arrival: 1_000 }, 1_020)).toBe(30);
  });

  it('takes the smaller of the two when both are given', () => {
    expect(loadWaitMs({ deadlineMs: 300, timeoutMs: 50, arrival: 0 }, 10)).toBe(40);
    expect(loadWaitMs({ deadlineMs: 30, timeoutMs: 500, arrival: 0 }, 10)).toBe(20);
  });

  it('goes negative once the bound has passed', () => {
    expect(loadWaitMs({ deadlineMs: 100, arrival: 0 }, 250)).toBe(-150);
  });

  it('counts a bound of 0 (or below) as none, as the request parameters do', () => {
    expect(loadWaitMs({ deadlineMs: 0, timeoutMs: 0, arrival: 0 }, 10)).toBeUndefined();
    expect(loadWaitMs({ deadlineMs: 0, timeoutMs: 40, arrival: 0 }, 10)).toBe(30);
    expect(loadWaitMs({ deadlineMs: -5, arrival: 0 }, 10)).toBeUndefined();
  });

  it('ignores a bound that is not a number at all (NaN)', () => {
    expect(loadWaitMs({ deadlineMs: Number.NaN, timeoutMs: 40, arrival: 0 }, 0)).toBe(40);
  });
});
