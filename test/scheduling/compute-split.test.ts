import { describe, expect, it } from 'vitest';
import { splitCompute } from '../../src/scheduling/compute-split.js';

describe('splitting a batch\'s compute time into Triton\'s three parts', () => {
  it('puts the join and the hand-off in compute_input, the run in compute_infer, the way back in compute_output', () => {
    expect(splitCompute(10, 0.5, { handOffMs: 1.5, inferMs: 6 })).toEqual({ inputMs: 2, inferMs: 6, outputMs: 2 });
  });

  it('counts all but the join as the model\'s when the backend says nothing (a run on the event loop)', () => {
    expect(splitCompute(4, 0.25)).toEqual({ inputMs: 0.25, inferMs: 3.75, outputMs: 0 });
  });

  it('never reports a negative part or more than the span, whatever the clocks said', () => {
    // Two threads' clocks, a rounding apart: the run seems to start before it was handed over, and end after the answer came.
    const split = splitCompute(5, 0, { handOffMs: -0.01, inferMs: 5.02 });
    expect(split).toEqual({ inputMs: 0, inferMs: 5, outputMs: 0 });
    const over = splitCompute(3, 1, { handOffMs: 4, inferMs: 1 });
    expect(over.inputMs + over.inferMs + over.outputMs).toBeCloseTo(3, 9);
    for (const v of Object.values(over)) expect(v).toBeGreaterThanOrEqual(0);
  });
});
