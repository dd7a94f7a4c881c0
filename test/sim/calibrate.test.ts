import { describe, expect, it } from 'vitest';
import { loopMsAt } from '../../src/sim/calibrate.js';

describe("the loop's CPU per request at the predicted rate", () => {
  // A loop that spends 150 ms a second whatever comes, and 0.4 ms on each request.
  const cost = (rate: number): number => 0.4 + 150 / rate;
  const half = { rate: 300, ms: cost(300) };
  const saturated = { rate: 1500, ms: cost(1500) };

  it('is what a fixed part per second and a part per request through both runs give between them', () => {
    expect(loopMsAt(600, half, saturated)).toBeCloseTo(cost(600), 9);
    expect(loopMsAt(1000, saturated, half)).toBeCloseTo(cost(1000), 9);
    expect(loopMsAt(300, half, saturated)).toBeCloseTo(half.ms, 9);
    expect(loopMsAt(1500, half, saturated)).toBeCloseTo(saturated.ms, 9);
  });

  it('falls between the two runs, below the slower rate figure and above the faster', () => {
    const at = loopMsAt(700, half, saturated);
    expect(at).toBeLessThan(half.ms);
    expect(at).toBeGreaterThan(saturated.ms);
  });

  it("holds at the nearer run's figure outside them, and at either when both ran at one rate", () => {
    expect(loopMsAt(100, half, saturated)).toBe(half.ms);
    expect(loopMsAt(5000, half, saturated)).toBe(saturated.ms);
    expect(loopMsAt(400, { rate: 500, ms: 0.7 }, { rate: 500, ms: 0.6 })).toBe(0.7);
  });
});
