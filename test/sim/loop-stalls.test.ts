/**
 * The event loop's stalls: how the loop probe measures them in a server (src/sim/loop-probe.ts),
 * how calibration turns them into the profile's `node.stalls`, and how a simulated loop stops.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { substream } from '../../src/bench/random.js';
import { router } from '../../src/routing/router.js';
import { calibrateNode, MIN_STALL_MS, stallsFrom } from '../../src/sim/calibrate.js';
import { type ModelCost, type NodeCosts, parseProfile } from '../../src/sim/cost-model.js';
import type { LoopProbeRecord } from '../../src/sim/loop-probe.js';
import { type SimArrival, simulate } from '../../src/sim/simulate.js';

const model: ModelCost = { name: 'm', instances: 1, batching: { maxBatchSize: 0 }, latency: [{ batchSize: 1, ms: 1 }], loadMs: 0, footprintBytes: 0, overheadMs: 0 };
const loop = (more: Partial<NodeCosts>): NodeCosts => ({ requestMs: 0, answerMs: 0, afterMs: 0, background: 0, ...more });

function answers(arrivals: SimArrival[], node: NodeCosts, variation = true): Map<number, number> {
  const answered = new Map<number, number>();
  simulate({
    models: [model], arrivals, nodes: 1, router: router('round-robin'), seed: 1, variation, node,
    window: { startMs: 0, endMs: Infinity }, binMs: 1000, trace: { dispatch: () => {}, answer: (t, id) => answered.set(id, t) },
  });
  return answered;
}

describe('a stalled loop', () => {
  it('stops after an answer, and what comes meanwhile waits for it', () => {
    // Every answer is followed by a 5 ms stall (no spread: always 5). The first request is
    // answered at 1; the second, arriving at 2 (its arrival takes the loop no time here), computes
    // until 3, and its answer waits for the loop, stopped until 6.
    const node = loop({ stalls: { perRequest: 1, ms: 5 } });
    const a = answers([{ atMs: 0, model: 'm' }, { atMs: 2, model: 'm' }], node);
    expect(a.get(0)).toBeCloseTo(1, 9);
    expect(a.get(1)).toBeCloseTo(6, 9);
    // The same requests without stalls: nothing waits.
    const b = answers([{ atMs: 0, model: 'm' }, { atMs: 2, model: 'm' }], loop({}));
    expect(b.get(1)).toBeCloseTo(3, 9);
  });

  it('never stops without variation, nor with a probability of 0', () => {
    const arrivals = [{ atMs: 0, model: 'm' }, { atMs: 2, model: 'm' }];
    expect(answers(arrivals, loop({ stalls: { perRequest: 1, ms: 5 } }), false).get(1)).toBeCloseTo(3, 9);
    expect(answers(arrivals, loop({ stalls: { perRequest: 0, ms: 5 } })).get(1)).toBeCloseTo(3, 9);
  });

  it('is a profile field with its own checks', () => {
    const text = (stalls: string) => `schema: shoal-profile/1\nnode: { stalls: ${stalls} }\nmodels: [{ name: m, latency: [{ batchSize: 1, ms: 1 }] }]`;
    expect(parseProfile(text('{ perRequest: 0.01, ms: 3, p90Ms: 8, maxMs: 20 }'), 'p.yaml').node.stalls).toEqual({ perRequest: 0.01, ms: 3, p90Ms: 8, maxMs: 20 });
    expect(() => parseProfile(text('{ perRequest: 2, ms: 3 }'), 'p.yaml')).toThrow(/node\.stalls\.perRequest/);
    expect(() => parseProfile(text('{ perRequest: 0.1, ms: 3, every: 2 }'), 'p.yaml')).toThrow(/node\.stalls/);
  });
});

describe('stalls from what the probe saw', () => {
  it('counts the time a gap waited for a core or collected, per request, and leaves out the small ones', () => {
    const s = stallsFrom({
      requests: 100,
      stalls: [
        { gapMs: 12, runMs: 4, waitMs: 8, gcMs: 0 },
        { gapMs: 9, runMs: 7, waitMs: 1, gcMs: 6 },
        // Mostly the loop's own work: not a stall the passes leave out.
        { gapMs: 6, runMs: 5.5, waitMs: MIN_STALL_MS / 2, gcMs: 0 },
      ],
    })!;
    expect(s.stalls.perRequest).toBeCloseTo(0.02, 9);
    expect(s.stalls.maxMs).toBeCloseTo(8, 9);
    expect(s.stalls.ms).toBeCloseTo(7, 9);
    expect(s.gcMsPerRequest).toBeCloseTo(0.06, 9);
    expect(stallsFrom({ requests: 100, stalls: [] })).toBeUndefined();
  });

  it('gives the node its stalls, and takes them out of the answer pass, their collections out of the after-work, the stalled round trips out of the wire', () => {
    // Round trips of 1 ms, but the slowest 1% (one per stall) took 20.
    const base = {
      roundTrip: [{ q: 0, ms: 1 }, { q: 0.99, ms: 1 }, { q: 1, ms: 20 }], roundTripMeanMs: 1.19, arrivalPassMs: 0.1, batchMs: 0.3, clientMs: 0.2, loopMs: 0.9,
    };
    const without = calibrateNode(base, substream(1, 'calibrate'));
    const node = calibrateNode({ ...base, loopStalls: { requests: 100, stalls: [{ gapMs: 20, runMs: 10, waitMs: 10, gcMs: 9 }] } }, substream(1, 'calibrate'));
    expect(node.stalls).toMatchObject({ perRequest: 0.01, ms: 19 });
    // The stall held up one round trip of the hundred (19 ms of it the stall's): the answer pass gives up 0.19 ms a request,
    // and the loop's CPU per request, which the after-work completes, is what it was less the collections' 0.09 ms.
    expect(node.answerMs).toBeCloseTo(without.answerMs - 0.19, 9);
    expect(node.afterMs).toBeCloseTo(without.afterMs + 0.19 - 0.09, 9);
    expect(without.wire!.maxMs!).toBeGreaterThan(10);
    expect(node.wire!.maxMs!).toBeLessThan(1.5);
  });
});

describe('the loop probe', () => {
  it('records a stall where the loop was blocked, between two signals', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'loop-probe-'));
    const file = path.join(dir, 'probe.json');
    try {
      // The child starts the probe, blocks its loop for 40 ms, and stops the probe.
      const script = `
        process.kill(process.pid, 'SIGUSR2');
        setTimeout(() => { const t = performance.now(); while (performance.now() - t < 40); }, 30);
        setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 100);
        setTimeout(() => {}, 200);`;
      const probe = path.resolve('src/sim/loop-probe.ts');
      const child = spawn(process.execPath, ['--import', 'tsx', '--import', probe, '-e', script], { env: { ...process.env, SHOAL_LOOP_PROBE: file }, stdio: 'inherit' });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(0);
      const rec = JSON.parse(await readFile(file, 'utf8')) as LoopProbeRecord;
      const longest = rec.stalls.reduce((a, b) => (b.gapMs > a.gapMs ? b : a));
      expect(longest.gapMs).toBeGreaterThanOrEqual(39);
      expect(rec.ticks).toBeGreaterThan(5);
      if (process.platform === 'linux') expect(longest.runMs + longest.waitMs).toBeGreaterThan(30);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
