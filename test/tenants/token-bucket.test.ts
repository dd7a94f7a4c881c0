import { describe, expect, it } from 'vitest';
import { InflightQuota } from '../../src/tenants/quota.js';
import { TokenBucket } from '../../src/tenants/token-bucket.js';

describe('token bucket (virtual clock, ms)', () => {
  it('lets a burst through at once, then refuses with the time until the next token', () => {
    const b = new TokenBucket(10, 3); // a token every 100 ms
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(b.take(0)).toEqual({ ok: false, retryAfterMs: 100 });
    expect(b.take(40)).toEqual({ ok: false, retryAfterMs: 60 });
    expect(b.take(100)).toEqual({ ok: true });
    expect(b.take(100)).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('refills at its rate but never past its burst', () => {
    const b = new TokenBucket(2, 4);
    for (let i = 0; i < 4; i++) b.take(0);
    expect(b.available(500)).toBeCloseTo(1);
    expect(b.available(10_000)).toBe(4);
  });

  it('holds the long-run rate: over 10 s at a flood, 10/s with burst 5 admits 5 + 100', () => {
    const b = new TokenBucket(10, 5);
    let admitted = 0;
    for (let t = 0; t <= 10_000; t += 1) for (let k = 0; k < 3; k++) if (b.take(t).ok) admitted++;
    expect(admitted).toBe(105);
  });

  it('a clock that steps back adds no tokens', () => {
    const b = new TokenBucket(1, 1);
    expect(b.take(1000).ok).toBe(true);
    expect(b.take(0).ok).toBe(false);
    expect(b.take(1500).ok).toBe(false);
    expect(b.take(2000).ok).toBe(true);
  });

  it('refuses a rate or burst that would never admit anything', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(/positive rate/);
    expect(() => new TokenBucket(1, 0)).toThrow(/burst of at least 1/);
  });
});

describe('concurrency quota', () => {
  it('counts requests in flight up to its maximum and frees a place on release', () => {
    const q = new InflightQuota(2);
    expect([q.tryAcquire(), q.tryAcquire(), q.tryAcquire()]).toEqual([true, true, false]);
    expect(q.inflight).toBe(2);
    q.release();
    expect(q.tryAcquire()).toBe(true);
    q.release();
    q.release();
    q.release(); // one too many does not go negative
    expect(q.inflight).toBe(0);
  });

  it('Infinity means no quota', () => {
    const q = new InflightQuota(Infinity);
    for (let i = 0; i < 1000; i++) expect(q.tryAcquire()).toBe(true);
  });
});
