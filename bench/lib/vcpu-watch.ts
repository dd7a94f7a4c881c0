/**
 * Watches for moments when a CPU of this (virtual) machine runs nothing at all: on the shared
 * virtual machines these benchmarks run on, the host sometimes holds a vCPU (for 86 to 104 ms
 * in the stops seen here while both CPUs were busy), and the guest reports no steal time. What
 * runs there then waits, and a run's p99 rests on a few hundred requests, so one such stop can
 * move it.
 *
 * One sleeper per CPU (cpu-sleeper.c), pinned to it (`taskset -c`) at real-time priority
 * (`chrt -f`), wakes every millisecond; nothing in the guest but the kernel's own real-time
 * threads can keep it from its CPU for long, so a wake-up more than `thresholdMs` late is the
 * CPU stopped, not the load. Measured here with a busy loop beside it on the same CPU: both saw
 * the same 86 ms gap at the same moment; idle for 10 s, the sleepers saw no gap over 5 ms.
 *
 * Needs Linux, a C compiler (`cc`), `chrt` and `taskset` (util-linux), and the right to use
 * real-time priority (root, or CAP_SYS_NICE); without them `watchCpus` says why and watches
 * nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './process.js';

export interface CpuStop {
  cpu: number;
  /** When the stop began, ms since the epoch. */
  at: number;
  /** How long the CPU ran nothing, beyond the 1 ms wait, ms. */
  ms: number;
}

export interface CpuWatch {
  /** What the sleepers have seen so far, in the order seen. */
  readonly seen: readonly CpuStop[];
  /** Stops the sleepers and returns what they saw, longest first. */
  stop(): Promise<CpuStop[]>;
}

/** The sleeper (cpu-sleeper.c), compiled once per process into a folder of its own; or why it cannot be. */
let built: Promise<string | { binary: string }> | undefined;
function sleeperBinary(): Promise<string | { binary: string }> {
  built ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-cpu-sleeper-'));
    const binary = path.join(dir, 'cpu-sleeper');
    // From the repository, so that it is found from dist/ too.
    const source = path.join(repoRoot(), 'bench', 'lib', 'cpu-sleeper.c');
    const cc = spawnSync('cc', ['-O2', '-o', binary, source], { encoding: 'utf8' });
    if (cc.error) return `cannot compile the sleeper: ${cc.error.message}`;
    if (cc.status !== 0) return `cannot compile the sleeper: ${cc.stderr.trim().split('\n')[0] ?? `cc exited ${cc.status}`}`;
    return { binary };
  })();
  return built;
}

/** Real-time priority of the sleepers: above every user thread, below the kernel's own (99). */
const PRIORITY = '50';

/**
 * Starts a sleeper on each CPU (all of them by default) and resolves once all are running;
 * resolves to a reason instead where they cannot run.
 */
export async function watchCpus(thresholdMs = 10, cpus: number[] = [...Array(os.cpus().length).keys()]): Promise<CpuWatch | string> {
  if (process.platform !== 'linux') return 'not Linux';
  const sleeper = await sleeperBinary();
  if (typeof sleeper === 'string') return sleeper;
  const seen: CpuStop[] = [];
  const children: ChildProcess[] = [];
  const started = cpus.map((cpu) => new Promise<string | undefined>((resolve) => {
    // stdin stays open: the sleeper exits when it closes, so it cannot outlive this process.
    const child = spawn('chrt', ['-f', PRIORITY, 'taskset', '-c', String(cpu), sleeper.binary, String(thresholdMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line === 'ready') resolve(undefined);
        else {
          const [at, ms] = line.split(' ').map(Number);
          seen.push({ cpu, at: at!, ms: ms! });
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', (e) => resolve(`cannot start chrt: ${e.message}`));
    child.once('exit', (code) => resolve(`the sleeper on CPU ${cpu} exited (${code}): ${err.trim().split('\n')[0] ?? ''}`));
  }));
  const why = (await Promise.all(started)).find((x) => x !== undefined);
  const stopAll = async (): Promise<void> => {
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined
      : new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      }))));
  };
  if (why !== undefined) {
    await stopAll();
    return why;
  }
  return {
    seen,
    async stop() {
      await stopAll();
      return [...seen].sort((a, b) => b.ms - a.ms);
    },
  };
}
