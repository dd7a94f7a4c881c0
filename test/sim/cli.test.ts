/**
 * `shoal profile` and `shoal simulate` end to end, as a user runs them: the profile is
 * measured with real onnxruntime sessions from a real model repository and written as a file
 * the simulator reads; the simulator writes reports shaped like `shoal bench`'s.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseProfile } from '../../src/sim/cost-model.js';
import type { SimReport } from '../../src/sim/report.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const shoal = (args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, timeout: 60_000 });

describe('shoal profile and shoal simulate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-sim-cli-'));
    for (const m of ['add_sub', 'mlp']) await cp(path.join(inject('exampleRepository'), m), path.join(dir, 'models', m), { recursive: true });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('profile measures real batch latencies, back to back and after idling, load time and footprint into a valid profile file', async () => {
    const out = path.join(dir, 'profile.json');
    await shoal(['profile', '--model-repository', path.join(dir, 'models'), '--models', 'add_sub,mlp', '--batch-sizes', '1,4', '--runs', '5', '--warmup-runs', '2', '--idle-gaps', '1,5', '--contended-runs', '5', '--out', out, '--quiet']);
    const profile = parseProfile(await readFile(out, 'utf8'), out);
    expect(profile.models.map((m) => m.name)).toEqual(['add_sub', 'mlp']);
    for (const m of profile.models) {
      expect(m.latency.map((p) => p.batchSize)).toEqual([1, 4]);
      for (const p of m.latency) {
        expect(p.ms).toBeGreaterThan(0);
        expect(p.p99Ms!).toBeGreaterThanOrEqual(p.ms);
        expect(p.runs).toBe(5);
      }
      // Timed after idling too; each point says how long the instance sat idle as it came out.
      expect(m.idle!).toHaveLength(2);
      expect(m.idle![1]!.afterMs).toBeGreaterThan(m.idle![0]!.afterMs);
      expect(m.idle!.every((p) => p.afterMs > 0 && p.ms > 0 && p.runs === 5)).toBe(true);
      // And beside a core kept busy, after the shortest idle gap.
      expect(m.contended).toMatchObject({ runs: 5 });
      expect(m.contended!.ms).toBeGreaterThan(0);
      expect(m.contended!.afterMs).toBeLessThan(m.idle![1]!.afterMs);
      expect(m.loadMs).toBeGreaterThan(0);
      expect(m.footprintBytes).toBeGreaterThan(0);
      expect(m.batching.maxBatchSize).toBeGreaterThanOrEqual(4);
      expect(m.instances).toBe(1);
    }
  });

  it('simulate reads the profile and a workload file and writes bench-shaped JSON and an HTML report with node charts', async () => {
    const profile = path.join(dir, 'profile.json');
    const workload = path.join(dir, 'workload.yaml');
    await writeFile(workload, 'models: [add_sub, mlp]\nrate: 300\nzipf: 1\nduration: 3\nwarmup: 0.5\nsloMs: 50\nseed: 4\n');
    const json = path.join(dir, 'sim.json');
    const html = path.join(dir, 'sim.html');
    const { stdout } = await shoal(['simulate', '--profile', profile, '--workload', workload, '--nodes', '3', '--router', 'power-of-two',
      '--network-delay-ms', '0.5', '--json', json, '--html', html, '--quiet']);
    expect(stdout).toMatch(/shoal simulate: 3 nodes, power-of-two routing/);
    expect(stdout).toMatch(/300\/s/);
    const report = JSON.parse(await readFile(json, 'utf8')) as SimReport;
    expect(report.tool).toBe('shoal simulate');
    const stats = report.points[0]!.stats;
    // About 300/s over 3 s measured, all answered, at least the 1 ms of network each request pays.
    expect(stats.scheduled).toBeGreaterThan(750);
    expect(stats.scheduled).toBeLessThan(1050);
    expect(stats.ok).toBe(stats.scheduled);
    expect(stats.latencyMs!.min).toBeGreaterThanOrEqual(1);
    expect(stats.goodputPerS).toBeGreaterThan(0);
    expect(Object.keys(stats.byModel).sort()).toEqual(['add_sub', 'mlp']);
    expect(report.simulation.perNode).toHaveLength(3);
    expect(report.simulation.timeline.nodes).toHaveLength(3);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('<h1>shoal simulate</h1>');
    expect(page).toContain('Node utilisation over time');
    expect(page).toContain('Latency by percentile');
  });

  it('names the flag or field that is wrong', async () => {
    const err = await shoal(['simulate', '--profile', path.join(dir, 'profile.json'), '--model', 'nope', '--rate', '10']).catch((e: { stderr: string }) => e);
    expect((err as { stderr: string }).stderr).toMatch(/model 'nope'|'nope'/);
    const bad = JSON.stringify({ schema: 'shoal-profile/1', models: [{ name: 'x', latency: [{ batchSize: 0, ms: 1 }] }] });
    expect(() => parseProfile(bad, 'bad.json')).toThrow(/bad.json: models\[0\].latency\[0\].batchSize/);
  });
});
