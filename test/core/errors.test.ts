import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/core/errors.js';

/** Stack frames in an error's stack text: the lines after the message that start with "at". */
const frames = (e: Error): number => (e.stack ?? '').split('\n').filter((l) => l.trim().startsWith('at ')).length;

describe('ShoalError', () => {
  it('captures no stack for refusals and other expected outcomes, which overload makes by the thousand', () => {
    const refused = new ShoalError('overloaded', 'queue full (8 requests waiting)', 1, 'queue_full');
    expect(refused.message).toBe('queue full (8 requests waiting)');
    expect(refused.retryAfterSeconds).toBe(1);
    expect(frames(refused)).toBe(0);
    expect(frames(new ShoalError('deadline_exceeded', 'late'))).toBe(0);
  });

  it('keeps the stack of internal faults, and leaves the process-wide stack limit as it found it', () => {
    const before = Error.stackTraceLimit;
    const fault = new ShoalError('internal', 'the backend gave no output');
    expect(frames(fault)).toBeGreaterThan(0);
    new ShoalError('cancelled', 'gone');
    expect(Error.stackTraceLimit).toBe(before);
    expect(frames(new Error('plain'))).toBeGreaterThan(0);
  });
});
