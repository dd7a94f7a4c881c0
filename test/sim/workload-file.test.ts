/**
 * One workload file drives a real run and a simulated one: bench and the simulator read it
 * into the same load and draw the same arrivals for a seed; rate curves shape the arrivals.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchCommand, workloadFileOptions, type RawBenchFlags } from '../../src/bench/command.js';
import { parseWorkloadSpec, specWorkload } from '../../src/bench/workload-file.js';
import { workloadArrivals, type Workload } from '../../src/bench/workload.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-workload-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The options bench builds from `args` (its own flag parsing, no run). */
async function benchOptionsFrom(args: string[]) {
  const cmd = benchCommand();
  let options: Awaited<ReturnType<typeof workloadFileOptions>> | undefined;
  cmd.exitOverride().action(async (flags: RawBenchFlags, c: Command) => {
    options = await workloadFileOptions(flags, c);
  });
  await cmd.parseAsync(args, { from: 'user' });
  return options!;
}

describe('a workload file', () => {
  it('gives bench the load the simulator plays: same rate, shape, models, window and seed', async () => {
    const file = path.join(dir, 'open.yaml');
    await writeFile(file, 'models: [mlp, cnn]\nrate: 250\narrival: gamma\ncv: 2\nzipf: 1.1\nduration: 20\nwarmup: 2\nsloMs: 40\nseed: 7\n');
    const o = await benchOptionsFrom(['--workload', file]);
    expect(o).toMatchObject({ mode: 'rate', levels: [250], arrival: 'gamma', cv: 2, models: ['mlp', 'cnn'], popularity: { kind: 'zipf', s: 1.1 }, durationS: 20, warmupS: 2, sloMs: 40, seed: 7 });
    const w = specWorkload(parseWorkloadSpec('models: [mlp, cnn]\nrate: 250\narrival: gamma\ncv: 2\nzipf: 1.1\nduration: 20\nwarmup: 2\nseed: 7\n', 'x'));
    expect(w).toEqual({ kind: 'open', process: { kind: 'gamma', ratePerS: 250, cv: 2 }, models: ['mlp', 'cnn'], popularity: { kind: 'zipf', s: 1.1 }, durationMs: 22_000 });
  });

  it('with a diurnal curve, bench replays exactly the arrivals the simulator draws', async () => {
    const file = path.join(dir, 'diurnal.yaml');
    const text = 'models: [mlp]\nrate: 100\nduration: 9\nwarmup: 1\ndiurnal: { periodS: 5, amplitude: 0.5 }\nseed: 3\n';
    await writeFile(file, text);
    const o = await benchOptionsFrom(['--workload', file]);
    expect(o.mode).toBe('trace');
    expect(o.trace).toEqual([...workloadArrivals(specWorkload(parseWorkloadSpec(text, file)), 3)]);
  });

  it('refuses load flags next to it, and names the file and field of a mistake', async () => {
    const file = path.join(dir, 'w.yaml');
    await writeFile(file, 'models: [mlp]\nrate: 10\n');
    await expect(benchOptionsFrom(['--workload', file, '--rate', '20'])).rejects.toThrow(/drop --rate/);
    expect(() => parseWorkloadSpec('models: [mlp]\nrate: -1\n', 'bad.yaml')).toThrow(/bad.yaml: rate/);
    expect(() => parseWorkloadSpec('models: [mlp]\n', 'none.yaml')).toThrow(/exactly one of rate, concurrency and trace/);
    expect(() => parseWorkloadSpec('models: [mlp]\nrate: 5\nrat: 3\n', 'typo.yaml')).toThrow(/typo.yaml/);
  });
});

describe('rate curves', () => {
  const base = (curve: Workload & { kind: 'open' }): number[] => [...workloadArrivals(curve, 11)].map((a) => a.atMs);
  const open = (c: NonNullable<(Workload & { kind: 'open' })['curve']>, durationMs: number): Workload & { kind: 'open' } => ({
    kind: 'open', process: { kind: 'poisson', ratePerS: 2000 }, models: ['m'], popularity: { kind: 'uniform' }, durationMs, curve: c,
  });
  const within = (ts: number[], from: number, to: number): number => ts.filter((t) => t >= from && t < to).length;

  it('a diurnal cycle sends more at its peak than at its trough, and the mean rate over whole periods', () => {
    // Period 10 s, peak at 0 s: factor 1.8 near 0 s and 10 s, 0.2 near 5 s.
    const ts = base(open({ kind: 'diurnal', periodS: 10, amplitude: 0.8 }, 20_000));
    expect(ts.length / 20 / 2000).toBeCloseTo(1, 1);
    const peak = within(ts, 9_500, 10_500);
    const trough = within(ts, 4_500, 5_500);
    // ∫ over ±0.5 s of 1 ± 0.8·cos: about 1 ± 0.787, so the ratio is near 8.4.
    expect(peak / trough).toBeGreaterThan(6);
    expect(peak / trough).toBeLessThan(11);
  });

  it('a piecewise curve ramps the rate', () => {
    const ts = base(open({ kind: 'piecewise', points: [[0, 0.5], [10, 2]] }, 10_000));
    expect(within(ts, 0, 1000) / 1000).toBeCloseTo(1.15, 0);
    expect(within(ts, 9000, 10_000) / within(ts, 0, 1000)).toBeGreaterThan(2.5);
  });
});
