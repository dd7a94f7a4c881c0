/**
 * SeriesCounter and SeriesHistogram (src/server/metrics.ts) replace prom-client's Counter and
 * Histogram on the per-request path; what /metrics shows must not change. Each is fed the same
 * observations as its prom-client twin, and both registries must render the same text and JSON.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesCounter, SeriesHistogram } from '../../src/server/metrics.js';

const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
const VALUES = [0, 0.0005, 0.00051, 0.0031, 0.7, 10, 10.5, 1e-9, 0.02, 3];

describe('series metrics', () => {
  it('render as prom-client renders the same counts', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const c1 = new Counter({ name: 'x_requests_total', help: 'requests', labelNames: ['model', 'version', 'outcome'] as const, registers: [theirs] });
    const h1 = new Histogram({ name: 'x_seconds', help: 'time "quoted" \\ and\nnewline', labelNames: ['model', 'version'] as const, buckets: BUCKETS, registers: [theirs] });
    const c2 = new SeriesCounter<'model' | 'version' | 'outcome'>(ours, 'x_requests_total', 'requests');
    const h2 = new SeriesHistogram<'model' | 'version'>(ours, 'x_seconds', 'time "quoted" \\ and\nnewline', BUCKETS);

    const labelSets = [{ model: 'a', version: '1' }, { model: 'b"q', version: '2' }, { model: '', version: '' }];
    const kept = h2.series(labelSets[0]!);
    VALUES.forEach((v, i) => {
      const labels = labelSets[i % labelSets.length]!;
      h1.observe(labels, v);
      if (i % labelSets.length === 0) kept.observe(v);
      else h2.observe(labels, v);
      const outcome = i % 2 ? 'success' : 'invalid_argument';
      c1.inc({ ...labels, outcome });
      c2.inc({ ...labels, outcome });
    });
    c1.inc({ ...labelSets[0]!, outcome: 'success' }, 3);
    c2.series({ ...labelSets[0]!, outcome: 'success' }).inc(3);

    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());

    theirs.resetMetrics();
    ours.resetMetrics();
    h1.observe(labelSets[0]!, 0.3);
    kept.observe(0.3);
    // prom-client drops label sets on reset; ours keep them at zero, so compare the one observed since.
    const observed = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('x_seconds') && l.includes('model="a"'));
    expect(observed(await ours.metrics())).toEqual(observed(await theirs.metrics()));
    expect(observed(await ours.metrics())).toContain('x_seconds_count{model="a",version="1"} 1');
  });

  it('refuses what prom-client refuses', () => {
    const h = new SeriesHistogram<'model'>(new Registry(), 'y_seconds', 'y', BUCKETS);
    expect(() => h.observe({ model: 'a' }, Number.NaN)).toThrow(TypeError);
  });
});
