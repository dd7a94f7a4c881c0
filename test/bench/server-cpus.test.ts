/**
 * Servers under test on CPUs of their own (SHOAL_BENCH_SERVER_CPUS), apart from the load
 * generator: a real server process started the bench's way, its CPUs read back from /proc.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_CPUS_ENV, cpuIds, cpusAllowed, serverCpus, spawnServer, splitPlacement } from '../../bench/lib/process.js';

const linux = process.platform === 'linux';
const logFile = (): string => path.join(mkdtempSync(path.join(os.tmpdir(), 'shoal-cpus-')), 'server.log');
const bare = ['--import', 'tsx', 'bench/baselines/bare-http.ts', '--port', '{port}'];

describe('servers on CPUs of their own', () => {
  afterEach(() => {
    delete process.env[SERVER_CPUS_ENV];
  });

  it.runIf(linux)('runs the server on the CPUs named, and leaves it on all of them otherwise', async () => {
    process.env[SERVER_CPUS_ENV] = '0';
    const pinned = await spawnServer({ args: bare, logFile: logFile() });
    try {
      expect(cpusAllowed(pinned.pid)).toBe('0');
      expect((await fetch(`${pinned.url}/v2/health/ready`)).status).toBe(200);
    } finally {
      await pinned.stop();
    }
    delete process.env[SERVER_CPUS_ENV];
    const free = await spawnServer({ args: bare, logFile: logFile() });
    try {
      expect(cpusAllowed(free.pid)).toBe(cpusAllowed('self'));
    } finally {
      await free.stop();
    }
  });

  it('refuses a CPU list taskset would not take, naming the variable', () => {
    expect(() => serverCpus({ [SERVER_CPUS_ENV]: '0;rm -rf /' })).toThrow(/SHOAL_BENCH_SERVER_CPUS.*such as 0-1/);
    expect(serverCpus({ [SERVER_CPUS_ENV]: ' 0-1,3 ' })).toBe('0-1,3');
    expect(serverCpus({})).toBeUndefined();
  });

  it('asks the bench for as many CPUs of its own as the servers get', () => {
    expect(cpuIds('0-1,3')).toEqual([0, 1, 3]);
    expect(splitPlacement(2)).toBeUndefined();
    process.env[SERVER_CPUS_ENV] = '0-1';
    expect(splitPlacement(2)).toEqual([0, 1]);
    expect(() => splitPlacement(1)).toThrow(/gives the servers 2 CPUs, and this process has 1: start it under taskset -c/);
  });
});
