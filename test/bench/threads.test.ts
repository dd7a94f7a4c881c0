/**
 * The bench's per-thread accounting (bench/lib/threads.ts): group shares from two snapshots, and
 * real snapshots of a real server process whose session threads name themselves.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SESSION_THREAD_NAME } from '../../src/backends/onnx/messages.js';
import { addSubOnWorker } from '../support/add-sub-session.js';
import { describeShares, runningMs, serverAndGenerator, sharesDuring, snapshotThreads, threadShares, type ThreadSnapshot } from '../../bench/lib/threads.js';

const snap = (atNs: number, server: Array<[number, string, number, number]>, bench: Array<[number, string, number, number]>): ThreadSnapshot => ({
  atNs: BigInt(atNs),
  processes: [
    { pid: 100, threads: new Map(server.map(([tid, comm, runNs, waitNs]) => [tid, { comm, runNs, waitNs }])) },
    { pid: 200, threads: new Map(bench.map(([tid, comm, runNs, waitNs]) => [tid, { comm, runNs, waitNs }])) },
  ],
});

describe('runningMs', () => {
  it('sums each process\'s threads\' running time between two snapshots, a thread begun meanwhile from zero', () => {
    const before = snap(0, [[100, 'node', 1e6, 0], [110, 'shoal-session', 2e6, 0]], [[200, 'node', 5e6, 0]]);
    const after = snap(1e9, [[100, 'node', 3e6, 9e6], [110, 'shoal-session', 7e6, 0], [111, 'shoal-session', 4e6, 0]], [[200, 'node', 6.5e6, 0]]);
    expect(runningMs(before, after)).toEqual([11, 1.5]);
  });
});

describe('threadShares', () => {
  it('turns two snapshots into cores running and waiting per group, counting the threads that ran', () => {
    const before = snap(0, [[100, 'node', 0, 0], [101, 'node', 0, 0], [110, 'shoal-session', 0, 0], [111, 'shoal-session', 0, 0]], [[200, 'node', 0, 0]]);
    // One second later: the loop ran half of it, one session thread 0.7 and waited 0.25, the other barely ran; a thread that began meanwhile counts from zero.
    const after = snap(1e9, [[100, 'node', 5e8, 1e8], [101, 'node', 5e7, 0], [110, 'shoal-session', 7e8, 2.5e8], [111, 'shoal-session', 1e6, 0], [112, 'node', 2e7, 0]], [[200, 'node', 3e8, 5e7]]);
    const shares = threadShares(before, after, serverAndGenerator);
    const by = Object.fromEntries(shares.map((g) => [g.group, g]));
    expect(by['event loop']).toMatchObject({ threads: 1, running: 0.5, waiting: 0.1 });
    expect(by['session threads']!.threads).toBe(1);
    expect(by['session threads']!.running).toBeCloseTo(0.701, 9);
    expect(by['session threads']!.waiting).toBeCloseTo(0.25, 9);
    expect(by['other server threads (V8, libuv)']!.running).toBeCloseTo(0.07, 9);
    expect(by['load generator (the bench process)']).toMatchObject({ running: 0.3, waiting: 0.05 });
    const lines = describeShares(shares);
    expect(lines.find((l) => l.startsWith('session threads'))).toContain('each of the 1 active: running 70%, waiting 25%, asleep 5%');
  });
});

describe('thread names and snapshots on Linux', () => {
  const session = addSubOnWorker();

  it.runIf(process.platform === 'linux')('names a session\'s worker thread, and counts its running in the session group', async () => {
    const names = readdirSync('/proc/self/task').map((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim());
    expect(names).toContain(SESSION_THREAD_NAME);
    const inputs = [0, 1].map((i) => ({ name: `INPUT${i}`, datatype: 'FP32' as const, shape: [1, 16], data: new Float32Array(16).fill(i + 1) }));
    // This process plays both parts here: as the "server" its session thread runs the batches.
    const { result, threads } = await sharesDuring(process.pid, async () => {
      for (let i = 0; i < 200; i++) await session().run(inputs, ['OUTPUT0', 'OUTPUT1']);
      return 'done';
    });
    expect(result).toBe('done');
    const sessions = threads!.find((g) => g.group === 'session threads');
    expect(sessions!.running).toBeGreaterThan(0);
    expect(snapshotThreads([2 ** 30])).toBeUndefined();
  });
});
