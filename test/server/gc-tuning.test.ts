import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapGrowthGiven } from '../../src/server/gc-tuning.js';

describe('the server\'s heap growth', () => {
  it('is set by shoal unless node was given its own, in either spelling', () => {
    expect(heapGrowthGiven([])).toBe(false);
    expect(heapGrowthGiven(['--max-old-space-size=4096', '--import', 'tsx'])).toBe(false);
    expect(heapGrowthGiven(['--heap-growing-percent=0'])).toBe(true);
    expect(heapGrowthGiven(['--heap_growing_percent=50'])).toBe(true);
    expect(heapGrowthGiven(['--heap-growing-percent', '300'])).toBe(true);
    // A flag with a longer name that merely starts the same is another flag.
    expect(heapGrowthGiven(['--heap-growing-percentile=3'])).toBe(false);
    expect(HEAP_GROWING_PERCENT).toBeGreaterThan(0);
  });
});
