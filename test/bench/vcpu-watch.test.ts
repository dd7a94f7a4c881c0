/**
 * The CPU-stop watcher the fidelity benchmark runs beside its real runs: a CPU taken from its
 * sleeper by a process of higher real-time priority is, to the sleeper, a CPU that stopped.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { watchCpus } from '../../bench/lib/vcpu-watch.js';

/** Whether this machine lets a process take real-time priority (root, or CAP_SYS_NICE) with chrt. */
const realtime = process.platform === 'linux' && spawnSync('chrt', ['-f', '1', 'true']).status === 0;

describe('the CPU-stop watcher', () => {
  it.runIf(realtime)('sees a CPU held by a higher real-time priority as stopped, on that CPU', async () => {
    const watch = await watchCpus(10, [0]);
    if (typeof watch === 'string') throw new Error(watch);
    // 80 ms of spinning at priority 60 on CPU 0, above the sleeper's 50.
    spawnSync('chrt', ['-f', '60', 'taskset', '-c', '0', process.execPath, '-e', 'const t = Date.now(); while (Date.now() - t < 80);']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stops = await watch.stop();
    expect(stops.length).toBeGreaterThan(0);
    expect(stops[0]!.cpu).toBe(0);
    expect(stops[0]!.ms).toBeGreaterThanOrEqual(60);
  });

  it('says why where it cannot watch', async () => {
    const watch = await watchCpus(10, [100_000]);
    expect(typeof watch).toBe('string');
  });
});
