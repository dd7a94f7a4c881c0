import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWorkloadSpec } from '../../src/bench/workload-file.js';
import { substream } from '../../src/bench/random.js';
import { CostModel, parseProfile, type ModelCost } from '../../src/sim/cost-model.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the cost model', () => {
  const m: ModelCost = {
    name: 'm', instances: 1, batching: { maxBatchSize: 8 }, loadMs: 0, footprintBytes: 0, overheadMs: 0,
    latency: [{ batchSize: 1, ms: 2, p10Ms: 1.8, p90Ms: 3, p99Ms: 6, maxMs: 9 }, { batchSize: 8, ms: 9 }],
  };

  it('interpolates between measured batch sizes as the live latency profile predicts', () => {
    const c = new CostModel(m, false);
    expect(c.serviceMs(1, Math.random)).toBe(2);
    expect(c.serviceMs(8, Math.random)).toBe(9);
    expect(c.serviceMs(4, Math.random)).toBeCloseTo(5, 6);
  });

  it('draws service times from the measured spread: its median and percentiles come back', () => {
    const c = new CostModel(m, true);
    const r = substream(1, 'test');
    const xs = Array.from({ length: 20_000 }, () => c.serviceMs(1, r)).sort((a, b) => a - b);
    const at = (q: number): number => xs[Math.floor(q * xs.length)]!;
    expect(at(0.5)).toBeCloseTo(2, 1);
    expect(at(0.9)).toBeCloseTo(3, 1);
    expect(at(0.99)).toBeCloseTo(6, 0);
    expect(xs[0]!).toBeGreaterThanOrEqual(1.8);
    expect(xs.at(-1)!).toBeLessThanOrEqual(9);
  });

  it('reads the example profile and workload shipped in examples/', async () => {
    const file = path.join(ROOT, 'examples/profiles/accelerator.yaml');
    const p = parseProfile(await readFile(file, 'utf8'), file);
    expect(p.models.map((x) => x.name)).toEqual(['resnet50', 'bert']);
    expect(p.models[1]!.rules?.defaultDeadlineMs).toBe(50);
    const w = path.join(ROOT, 'examples/workloads/diurnal.yaml');
    expect(parseWorkloadSpec(await readFile(w, 'utf8'), w)).toMatchObject({ models: ['resnet50', 'bert'], rate: 400, diurnal: { periodS: 60 } });
  });

  it("gives a batch's speed beside a busy core as the time of one row alone over a draw from the contended spread", () => {
    expect(new CostModel(m, true).contendedSpeed(Math.random)).toBe(1);
    const contended = { afterMs: 1, ms: 4, p10Ms: 3, p90Ms: 10, p99Ms: 40, maxMs: 80 };
    // Alone after 1 ms idle: 2 ms back to back plus half of the 2 ms more that 2 ms of idle costs.
    const idle = [{ afterMs: 2, ms: 4 }];
    expect(new CostModel({ ...m, contended }, false).contendedSpeed(Math.random)).toBeCloseTo(2 / 4, 9);
    expect(new CostModel({ ...m, idle, contended }, false).contendedSpeed(Math.random)).toBeCloseTo(3 / 4, 9);
    const c = new CostModel({ ...m, contended }, true);
    const r = substream(1, 'contended');
    const xs = Array.from({ length: 20_000 }, () => c.contendedSpeed(r)).sort((a, b) => a - b);
    const at = (q: number): number => xs[Math.floor(q * xs.length)]!;
    expect(at(0.5)).toBeCloseTo(0.5, 1);
    expect(at(0.01)).toBeCloseTo(2 / 40, 1);
    expect(xs[0]!).toBeGreaterThanOrEqual(2 / 80);
    // Never faster than alone, even where the contended runs were.
    expect(new CostModel({ ...m, contended: { afterMs: 1, ms: 1 } }, false).contendedSpeed(Math.random)).toBe(1);
    expect(() => parseProfile(JSON.stringify({ schema: 'shoal-profile/1', models: [{ ...m, contended: { ms: 4 } }] }), 'p.json')).toThrow(/p.json: models\[0\].contended.afterMs/);
  });

  it('refuses a tail whose fractions grow with the time, naming the file and model', () => {
    const text = JSON.stringify({ schema: 'shoal-profile/1', models: [{ name: 'x', latency: [{ batchSize: 1, ms: 1 }], tail: { over: [{ ms: 10, fraction: 0.001 }, { ms: 20, fraction: 0.01 }], maxMs: 50 } }] });
    expect(() => parseProfile(text, 'p.json')).toThrow(/p.json: models 'x': tail.over must go up in ms and down in fraction/);
  });

  it('refuses a profile whose latencies go past max_batch_size, naming the file', () => {
    const text = JSON.stringify({ schema: 'shoal-profile/1', models: [{ name: 'x', batching: { maxBatchSize: 4 }, latency: [{ batchSize: 8, ms: 1 }] }] });
    expect(() => parseProfile(text, 'p.json')).toThrow(/p.json: models 'x': latency for batch size 8 exceeds batching.maxBatchSize 4/);
  });
});
