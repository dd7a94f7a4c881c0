/**
 * Where the cores went during a bench point, thread group by thread group, from the kernel's
 * scheduler statistics (/proc/PID/task/TID/schedstat: nanoseconds running, and nanoseconds
 * runnable but waiting for a core). On a machine where the load generator shares the cores with
 * the server, this says whether a figure is held back by the server leaving its inference threads
 * idle (they sleep) or by the cores being taken (they wait); Linux only, undefined elsewhere.
 */
import { readFileSync, readdirSync } from 'node:fs';

interface ThreadTimes { comm: string; runNs: number; waitNs: number }

export interface ThreadSnapshot {
  atNs: bigint;
  processes: Array<{ pid: number; threads: Map<number, ThreadTimes> }>;
}

export function snapshotThreads(pids: readonly number[]): ThreadSnapshot | undefined {
  const atNs = process.hrtime.bigint();
  try {
    return {
      atNs,
      processes: pids.map((pid) => {
        const threads = new Map<number, ThreadTimes>();
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
          try {
            const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
            threads.set(Number(tid), { comm: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(), runNs: run!, waitNs: wait! });
          } catch {
            // The thread ended between the listing and the read.
          }
        }
        return { pid, threads };
      }),
    };
  } catch {
    return undefined;
  }
}

export interface ThreadGroupShare {
  group: string;
  /** Threads of the group that ran at least 1% of the time. */
  threads: number;
  /** Cores' worth of running, and of waiting for a core, over the interval. */
  running: number;
  waiting: number;
}

/** Names the group a thread belongs to; `pid` is its process, `index` the process's place in the snapshot. */
export type Classify = (t: { pid: number; tid: number; comm: string; index: number }) => string;

export function threadShares(before: ThreadSnapshot, after: ThreadSnapshot, classify: Classify): ThreadGroupShare[] {
  const wall = Number(after.atNs - before.atNs);
  const groups = new Map<string, ThreadGroupShare>();
  after.processes.forEach(({ pid, threads }, index) => {
    const earlier = before.processes[index]?.threads;
    for (const [tid, t] of threads) {
      const was = earlier?.get(tid) ?? { runNs: 0, waitNs: 0 };
      const running = (t.runNs - was.runNs) / wall;
      const waiting = (t.waitNs - was.waitNs) / wall;
      const group = classify({ pid, tid, comm: t.comm, index });
      const g = groups.get(group) ?? { group, threads: 0, running: 0, waiting: 0 };
      g.running += running;
      g.waiting += waiting;
      if (running >= 0.01) g.threads++;
      groups.set(group, g);
    }
  });
  return [...groups.values()];
}

/** Each process's CPU time between two snapshots (ms, its threads' running time summed), in the snapshots' order. */
export function runningMs(before: ThreadSnapshot, after: ThreadSnapshot): number[] {
  const total = (s: ThreadSnapshot, i: number): number => {
    let ns = 0;
    for (const t of s.processes[i]?.threads.values() ?? []) ns += t.runNs;
    return ns;
  };
  return after.processes.map((_, i) => (total(after, i) - total(before, i)) / 1e6);
}

/** Session threads as src/backends/onnx names them (messages.ts: SESSION_THREAD_NAME). */
const SESSION = 'shoal-session';

/**
 * A shoal server's threads and the bench's own process (which runs the load generator): the event
 * loop, the session threads (onnxruntime's workers and pools), the server's other threads (V8's
 * collector and compiler helpers, libuv), and the generator's process.
 */
export const serverAndGenerator: Classify = ({ pid, tid, comm, index }) =>
  index === 1 ? 'load generator (the bench process)' : tid === pid ? 'event loop' : comm === SESSION ? 'session threads' : 'other server threads (V8, libuv)';

/** Server and generator threads over a bench point: `run` is the point. */
export async function sharesDuring<T>(serverPid: number, run: () => Promise<T>): Promise<{ result: T; threads?: ThreadGroupShare[] }> {
  const pids = [serverPid, process.pid];
  const before = snapshotThreads(pids);
  const result = await run();
  const after = snapshotThreads(pids);
  return before && after ? { result, threads: threadShares(before, after, serverAndGenerator) } : { result };
}

/** One line per group: cores running and waiting, and for the session threads each active one's share asleep. */
export function describeShares(shares: readonly ThreadGroupShare[]): string[] {
  return shares.filter((g) => g.running + g.waiting >= 0.005).map((g) => {
    const per = g.threads > 0 ? ` (each of the ${g.threads} active: running ${pct(g.running / g.threads)}, waiting ${pct(g.waiting / g.threads)}, asleep ${pct(Math.max(0, 1 - (g.running + g.waiting) / g.threads))})` : '';
    return `${g.group}: ${g.running.toFixed(2)} cores running, ${g.waiting.toFixed(2)} waiting for one${g.group === 'session threads' ? per : ''}`;
  });
}

const pct = (x: number): string => `${Math.round(100 * x)}%`;
