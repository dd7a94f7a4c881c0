import { describe, expect, it } from 'vitest';
import { bestRate, nextRate, type SearchOptions, type Trial } from '../../bench/lib/rate-search.js';

/** Plays the search against a server that meets its objective exactly up to `capacity`. */
function search(capacity: number, o: SearchOptions, noisy?: (rate: number) => boolean | undefined): Trial[] {
  const trials: Trial[] = [];
  for (let rate = nextRate(trials, o); rate !== undefined; rate = nextRate(trials, o)) {
    trials.push({ rate, pass: noisy?.(rate) ?? rate <= capacity });
  }
  return trials;
}

const opts: SearchOptions = { start: 500, maxTrials: 10, resolution: 1.15, minRate: 10 };

describe('rate search', () => {
  it.each([60, 730, 999, 1000, 4321, 20_000])('finds a capacity of %i/s to within the resolution', (capacity) => {
    const trials = search(capacity, opts);
    const best = bestRate(trials)!;
    expect(best).toBeLessThanOrEqual(capacity);
    // The bracket closed (or rounding left nothing between): the next rate up failed.
    const failedAbove = Math.min(...trials.filter((t) => !t.pass).map((t) => t.rate));
    expect(failedAbove / best).toBeLessThanOrEqual(1.15 * 1.01);
    expect(trials.length).toBeLessThanOrEqual(opts.maxTrials);
  });

  it('stops at the trial budget and reports the best rate seen so far', () => {
    const trials = search(1_000_000, { ...opts, maxTrials: 4 });
    expect(trials.map((t) => t.rate)).toEqual([500, 1000, 2000, 4000]);
    expect(bestRate(trials)).toBe(4000);
  });

  it('gives up below minRate when nothing passes', () => {
    const trials = search(5, opts);
    expect(bestRate(trials)).toBeUndefined();
    expect(trials.every((t) => !t.pass && t.rate >= opts.minRate)).toBe(true);
  });

  it('trusts the lowest failure when noise makes a higher rate pass', () => {
    // 800/s fails by bad luck, though 1000/s passes.
    const trials: Trial[] = [{ rate: 500, pass: true }, { rate: 1000, pass: true }, { rate: 2000, pass: false }, { rate: 800, pass: false }];
    expect(bestRate(trials)).toBe(500);
    expect(nextRate(trials, opts)).toBe(632);
  });
});
