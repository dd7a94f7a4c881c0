/**
 * `shoal bench` end to end, as a user runs it: the CLI in its own process against a real
 * shoal serving two example models, a short rate sweep with binary tensors, and the JSON and
 * HTML reports it writes. Checks the report's fields and sanity, not speed.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BenchReport } from '../../src/bench/runner.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('shoal bench CLI against shoal', () => {
  let dir: string;
  let server: RunningServer;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-bench-cli-'));
    // Only the two models the run uses, so the server starts quickly.
    for (const m of ['add_sub', 'mlp']) await cp(path.join(inject('exampleRepository'), m), path.join(dir, 'models', m), { recursive: true });
    server = await startServer({ modelRepository: path.join(dir, 'models'), httpPort: 0, logLevel: 'silent' });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a two-point rate sweep over two models and writes JSON and HTML reports', async () => {
    const json = path.join(dir, 'report.json');
    const html = path.join(dir, 'report.html');
    const { stdout, stderr } = await run(process.execPath, [
      '--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'bench', '--url', server.url,
      '--model', 'add_sub', '--model', 'mlp', '--zipf', '1', '--rate', '--sweep', '20,40', '--duration', '0.8', '--warmup', '0.2',
      '--binary', '--slo-ms', '2000', '--seed', '7', '--json', json, '--html', html,
    ], { cwd: ROOT, timeout: 30_000 });
    expect(stdout).toMatch(/load\s+intended\/s\s+sent\/s\s+ok\/s\s+good\/s\s+p50 ms/);
    expect(stderr).toMatch(/point 20\/s: open loop: Poisson arrivals at 20\/s → add_sub, mlp \(zipf s=1\)/);

    const r = JSON.parse(await readFile(json, 'utf8')) as BenchReport;
    expect(r).toMatchObject({ tool: 'shoal bench', schema: 1, target: { url: server.url, binary: true } });
    expect(r.settings).toMatchObject({ mode: 'rate', arrival: 'poisson', seed: 7, durationS: 0.8, warmupS: 0.2, sloMs: 2000, popularity: { kind: 'zipf', s: 1 } });
    expect(r.target.models.map((m) => [m.name, m.inputs.map((t) => t.shape)])).toEqual([['add_sub', [[1, 16], [1, 16]]], ['mlp', [[1, 256]]]]);
    expect(r.points.map((p) => p.rate)).toEqual([20, 40]);
    for (const p of r.points) {
      const s = p.stats;
      expect(s.errorCount, JSON.stringify(s.errors)).toBe(0);
      expect(s.ok).toBe(s.scheduled);
      expect(s.ok).toBeGreaterThan(0);
      const l = s.latencyMs!;
      expect(0 < l.min && l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max).toBe(true);
      expect(s.goodFraction).toBe(1);
      expect(s.throughputPerS).toBeGreaterThan(0);
      expect(s.intendedRatePerS).toBeCloseTo(s.scheduled / 0.8, 6);
      expect(Object.keys(s.byModel).sort()).toEqual(Object.keys(s.byModel).length === 2 ? ['add_sub', 'mlp'] : ['add_sub']);
      expect(s.percentiles.length).toBeGreaterThan(10);
      expect(s.timeline.reduce((a, b) => a + b.ok, 0)).toBeGreaterThanOrEqual(s.ok);
      expect(typeof s.generatorKeptUp).toBe('boolean');
    }

    const page = await readFile(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toContain('Throughput–latency curve');
    // Opens offline: nothing is fetched.
    expect(page).not.toMatch(/<script|<link|src=|@import|url\(/);
  });
});
