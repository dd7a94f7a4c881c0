import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { httpCost, overloadBound, overloadCeiling, perRequestMs, rateCeiling, type HttpCost } from '../../bench/issue3/http-cost.js';
import { repoRoot, spawnServer as spawnBenchServer } from '../../bench/lib/process.js';
import { spawnServer } from '../support/process.js';

const cost = (serverMs: number, generatorMs: number, cores = 2): HttpCost => ({
  shape: { model: 'm' }, rate: 1000, sentPerS: 1000, sent: 1000, refused: 1000, answered: 0, window: { seconds: 1, warmupS: 0 }, serverMs, generatorMs, cores,
});

describe('rateCeiling', () => {
  it('divides the cores between the floor and the inference per request', () => {
    const c = cost(0.15, 0.1);
    expect(perRequestMs(c)).toBeCloseTo(0.25);
    // 2 cores = 2000 ms of CPU a second; 0.25 ms each with no inference, 0.5 ms with 0.25 of it.
    expect(rateCeiling(c, 0)).toBeCloseTo(8000);
    expect(rateCeiling(c, 0.25)).toBeCloseTo(4000);
  });
});

describe('overloadCeiling', () => {
  it('leaves good answers what the refusals of the rest do not take', () => {
    // 3000/s offered, refusals 0.3 ms, good answers 2.3 ms: g·2.3 + (3000 − g)·0.3 ≤ 2000 → g ≤ 550.
    const c = cost(0.2, 0.1);
    const g = overloadCeiling(c, 3000, 2.3);
    expect(g).toBeCloseTo(550);
    expect(g * 2.3 + (3000 - g) * 0.3).toBeCloseTo(2000);
  });

  it('is zero when the refusals alone need every core, and the whole rate when answers cost no more than refusals', () => {
    expect(overloadCeiling(cost(0.5, 0.5), 3000, 3)).toBe(0);
    expect(overloadCeiling(cost(0.2, 0.1), 500, 0.3)).toBe(500);
    // Cheap enough that everything offered could be answered in time.
    expect(overloadCeiling(cost(0.02, 0.01), 100, 1)).toBe(100);
  });
});

describe('httpCost against a real server in its own process', () => {
  it('has every request refused at admission, runs nothing, and charges each process its own CPU', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-http-cost-'));
    await cp(path.join(inject('exampleRepository'), 'mlp'), path.join(dir, 'mlp'), { recursive: true });
    const server = await spawnServer(['--model-repository', dir]);
    try {
      const c = await httpCost(server.url, server.child.pid!, { model: 'mlp', batch: 2 }, 200, { seconds: 0.5, warmupS: 0.2 });
      expect(c).toBeDefined();
      expect(c!.sent).toBeGreaterThan(40);
      expect(c!.refused).toBe(c!.sent);
      expect(c!.answered).toBe(0);
      // Both processes did work for each request; a refusal is far from a millisecond-scale inference's worth.
      expect(c!.serverMs).toBeGreaterThan(0.005);
      expect(c!.generatorMs).toBeGreaterThan(0.005);
      expect(c!.serverMs).toBeLessThan(20);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the bare refuser (bench/baselines/bare-refuser.ts) beside shoal', () => {
  it('refuses the same requests in its own process, is measured like shoal, and is stopped afterwards', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-bare-refuser-'));
    await cp(path.join(inject('exampleRepository'), 'mlp'), path.join(dir, 'mlp'), { recursive: true });
    const server = await spawnServer(['--model-repository', dir]);
    let barePid: number | undefined;
    try {
      const bound = await overloadBound(
        server.url, server.child.pid!, dir, { model: 'mlp', batch: 2 }, 200,
        { cores: 1, sentPerS: 100, answeredPerS: 100, goodputPerS: 100 }, { seconds: 0.5, warmupS: 0.2, maxBatch: 8 },
        async () => {
          const bare = await spawnBenchServer({
            args: ['--import', 'tsx', path.join(repoRoot(), 'bench/baselines/bare-refuser.ts'), '--port', '{port}', '--mirror', server.url],
            logFile: path.join(dir, 'bare-refuser.log'),
          });
          barePid = bare.pid;
          return bare;
        },
      );
      const bare = bound?.bare;
      expect(bare).toBeDefined();
      expect(bare!.cost.sent).toBeGreaterThan(40);
      expect(bare!.cost.refused).toBe(bare!.cost.sent);
      expect(bare!.cost.answered).toBe(0);
      expect(bare!.cost.serverMs).toBeGreaterThan(0.005);
      // Its ceiling is this build's, with shoal's floor swapped for the bare one: finite, never above the rate.
      expect(bare!.maxPerS).toBeGreaterThanOrEqual(0);
      expect(bare!.maxPerS).toBeLessThanOrEqual(200);
      expect(() => process.kill(barePid!, 0)).toThrow();
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
