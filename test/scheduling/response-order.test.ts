import { describe, expect, it } from 'vitest';
import { ResponseOrder } from '../../src/scheduling/response-order.js';

describe('ResponseOrder (preserve_ordering)', () => {
  it('holds an answer until every request admitted before it is answered', () => {
    const order = new ResponseOrder();
    for (const seq of [1, 2, 3, 4]) order.track(seq);
    expect(order.settle(3)).toEqual([]);
    expect(order.settle(2)).toEqual([]);
    expect(order.held).toBe(2);
    expect(order.settle(1)).toEqual([1, 2, 3]);
    expect(order.settle(4)).toEqual([4]);
    expect(order.outstanding).toBe(0);
  });

  it('an error counts as an answer', () => {
    const order = new ResponseOrder();
    order.track(1);
    order.track(2);
    expect(order.settle(2)).toEqual([]);
    expect(order.settle(1)).toEqual([1, 2]); // e.g. 1 timed out in the queue
  });

  it('lets an untracked request through at once', () => {
    const order = new ResponseOrder();
    order.track(1);
    expect(order.settle(9)).toEqual([9]);
    expect(order.outstanding).toBe(1);
  });

  it('stays small over a long run', () => {
    const order = new ResponseOrder();
    for (let seq = 0; seq < 5000; seq++) {
      order.track(seq);
      expect(order.settle(seq)).toEqual([seq]);
    }
    expect(order.outstanding).toBe(0);
    expect((order as unknown as { order: number[] }).order.length).toBeLessThan(1100);
  });
});
