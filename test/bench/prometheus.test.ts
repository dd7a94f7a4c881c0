import { describe, expect, it } from 'vitest';
import { bucketQuantile, diffHistogram, parseHistogram } from '../../bench/lib/prometheus.js';

const scrape = (counts: [number, number, number, number], sum: number): string => `
# HELP shoal_event_loop_lag_seconds Event-loop timer drift.
# TYPE shoal_event_loop_lag_seconds histogram
shoal_event_loop_lag_seconds_bucket{le="0.001"} ${counts[0]}
shoal_event_loop_lag_seconds_bucket{le="0.005"} ${counts[1]}
shoal_event_loop_lag_seconds_bucket{le="0.01"} ${counts[2]}
shoal_event_loop_lag_seconds_bucket{le="+Inf"} ${counts[3]}
shoal_event_loop_lag_seconds_sum ${sum}
shoal_event_loop_lag_seconds_count ${counts[3]}
shoal_event_loop_lag_seconds_other 7
shoal_requests_total{model="cnn"} 12
`;

describe('parseHistogram', () => {
  it('reads buckets, sum and count, sorted with +Inf last', () => {
    const h = parseHistogram(scrape([5, 8, 9, 10], 0.02), 'shoal_event_loop_lag_seconds');
    expect(h).toEqual({
      buckets: [
        { le: 0.001, count: 5 },
        { le: 0.005, count: 8 },
        { le: 0.01, count: 9 },
        { le: Infinity, count: 10 },
      ],
      sum: 0.02,
      count: 10,
    });
  });

  it('returns undefined for a histogram that is not there', () => {
    expect(parseHistogram(scrape([1, 1, 1, 1], 0), 'nope')).toBeUndefined();
  });

  it('adds series that differ in other labels, unless told to pick some', () => {
    const text = [
      'lat_bucket{model="a",le="1"} 1', 'lat_bucket{model="a",le="+Inf"} 2', 'lat_sum{model="a"} 3', 'lat_count{model="a"} 2',
      'lat_bucket{le="1",model="b"} 4', 'lat_bucket{le="+Inf",model="b"} 4', 'lat_sum{model="b"} 1', 'lat_count{model="b"} 4',
    ].join('\n');
    expect(parseHistogram(text, 'lat')?.buckets).toEqual([{ le: 1, count: 5 }, { le: Infinity, count: 6 }]);
    expect(parseHistogram(text, 'lat', { model: 'b' })).toEqual({ buckets: [{ le: 1, count: 4 }, { le: Infinity, count: 4 }], sum: 1, count: 4 });
  });

  it('refuses a histogram without a +Inf bucket', () => {
    expect(() => parseHistogram('x_bucket{le="1"} 1', 'x')).toThrow(/\+Inf/);
  });
});

describe('diffHistogram and bucketQuantile', () => {
  const before = parseHistogram(scrape([100, 100, 100, 100], 0.05), 'shoal_event_loop_lag_seconds')!;

  it('keeps only what was observed between the scrapes', () => {
    const after = parseHistogram(scrape([190, 198, 199, 200], 0.3), 'shoal_event_loop_lag_seconds')!;
    const d = diffHistogram(after, before);
    expect(d.buckets.map((b) => b.count)).toEqual([90, 98, 99, 100]);
    expect(d.count).toBe(100);
    expect(d.sum).toBeCloseTo(0.25);
    // p50 (rank 50) and p90 (rank 90) sit in the first bucket, p98 in the second, p99 in the third.
    expect(bucketQuantile(d, 0.5)).toBe(0.001);
    expect(bucketQuantile(d, 0.9)).toBe(0.001);
    expect(bucketQuantile(d, 0.98)).toBe(0.005);
    expect(bucketQuantile(d, 0.99)).toBe(0.01);
    expect(bucketQuantile(d, 1)).toBe(Infinity);
  });

  it('says undefined when nothing was observed, and refuses counts that went down', () => {
    expect(bucketQuantile(diffHistogram(before, before), 0.99)).toBeUndefined();
    const restarted = parseHistogram(scrape([1, 1, 1, 1], 0), 'shoal_event_loop_lag_seconds')!;
    expect(() => diffHistogram(restarted, before)).toThrow(/restarted/);
  });

  it('does not let float error move the rank', () => {
    // 0.07 × 100 is 7.000000000000001 in floating point; the quantile still needs rank 7.
    const h = { buckets: [{ le: 1, count: 7 }, { le: 2, count: 100 }, { le: Infinity, count: 100 }], sum: 0, count: 100 };
    expect(bucketQuantile(h, 0.07)).toBe(1);
  });
});
