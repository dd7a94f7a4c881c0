/**
 * Servers under test run as child processes, never in the bench's own process, so the
 * client's work does not share an event loop with the server it measures, and shoal and
 * the bare baseline pay the same cross-process hop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file whether it runs from bench/ (tsx) or dist/bench/. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'shoal') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the shoal package root');
    dir = parent;
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * On a machine with cores to spare, the servers under test can run on CPUs of their own, apart
 * from the load generator (this process, which also runs onnxruntime-node direct): set this to a
 * CPU list as `taskset -c` takes it ("0-1"), and start the bench itself under `taskset -c` on
 * other CPUs. On 2 cores the generator and the server share them, and every figure carries the
 * generator's cost; this is how to measure without it.
 */
export const SERVER_CPUS_ENV = 'SHOAL_BENCH_SERVER_CPUS';

/** The CPU list servers are pinned to, or undefined; a malformed list is an error, not ignored. */
export function serverCpus(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const list = env[SERVER_CPUS_ENV]?.trim();
  if (!list) return undefined;
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) throw new Error(`${SERVER_CPUS_ENV}=${JSON.stringify(list)}: give CPUs as taskset -c takes them, such as 0-1 or 0,2`);
  return list;
}

/** The CPUs a `taskset -c` list names ("0-1,3" → 0, 1, 3). */
export function cpuIds(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

/**
 * The servers' CPUs when SHOAL_BENCH_SERVER_CPUS places them, or undefined. This process (the
 * load generator, and what stands for the server beside it) must then have as many CPUs of its
 * own, or a comparison would set unlike against unlike: an error says how to start it.
 */
export function splitPlacement(available = os.availableParallelism()): number[] | undefined {
  const list = serverCpus();
  if (list === undefined) return undefined;
  const ids = cpuIds(list);
  if (ids.length !== available) {
    throw new Error(`${SERVER_CPUS_ENV}=${list} gives the servers ${ids.length} CPUs, and this process has ${available}: start it under taskset -c with as many others`);
  }
  return ids;
}

/** The CPUs a process may run on, as Linux lists them (/proc/PID/status), or undefined where that cannot be read. */
export function cpusAllowed(pid: number | 'self' = 'self'): string | undefined {
  try {
    return /^Cpus_allowed_list:\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

export interface RunningServer {
  url: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Node script and its arguments; `{port}` is replaced by the chosen port. */
  args: string[];
  /** Where the child's stdout and stderr go (a file, so a chatty server cannot block on a full pipe). */
  logFile: string;
  host?: string;
  readyPath?: string;
  readyTimeoutMs?: number;
}

export async function spawnServer(opts: SpawnOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = await freePort(host);
  const url = `http://${host}:${port}`;
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const cpus = serverCpus();
  const args = opts.args.map((a) => a.replace('{port}', String(port)));
  const fd = openSync(opts.logFile, 'w');
  // taskset execs node in its own place, so the pid is the server's.
  const child = cpus === undefined
    ? spawn(process.execPath, args, { cwd: repoRoot(), stdio: ['ignore', fd, fd] })
    : spawn('taskset', ['-c', cpus, process.execPath, ...args], { cwd: repoRoot(), stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));

  const stop = async (): Promise<void> => {
    if (gone) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitReady(url + (opts.readyPath ?? '/v2/health/ready'), opts.readyTimeoutMs ?? 60_000, () => gone);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- last lines of ${opts.logFile} ---\n${tail(opts.logFile, 20)}`, { cause: err });
  }
  return { url, pid: pidOf(child), logFile: opts.logFile, stop };
}

function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error('child process has no pid');
  return child.pid;
}

async function waitReady(url: string, timeoutMs: number, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`server exited before ${url} answered 200`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export const resultsDir = (): string => path.join(repoRoot(), 'bench', 'results');

/** shoal from dist/ (run `npm run build` first; `npm run bench` does), serving `modelRepository`. */
export function startShoal(modelRepository: string, o: { log?: string; args?: string[] } = {}): Promise<RunningServer> {
  return spawnServer({
    args: ['bin/shoal.js', 'serve', '--model-repository', modelRepository, '--http-port', '{port}', '--host', '127.0.0.1', ...(o.args ?? [])],
    logFile: path.join(resultsDir(), o.log ?? 'shoal.log'),
    // Loading the example models (ONNX sessions) takes a while on a small machine.
    readyTimeoutMs: 120_000,
  });
}

export function startBare(): Promise<RunningServer> {
  return spawnServer({
    args: [path.join(repoRoot(), 'dist', 'bench', 'baselines', 'bare-http.js'), '--port', '{port}'],
    logFile: path.join(resultsDir(), 'bare-http.log'),
  });
}

/** bench/baselines/bare-refuser.ts: refuses every inference request; metadata and health come from `mirror` (a shoal server). */
export function startBareRefuser(mirror: string): Promise<RunningServer> {
  return spawnServer({
    args: [path.join(repoRoot(), 'dist', 'bench', 'baselines', 'bare-refuser.js'), '--port', '{port}', '--mirror', mirror],
    logFile: path.join(resultsDir(), 'bare-refuser.log'),
  });
}

export function startNaive(modelRepository: string): Promise<RunningServer> {
  return spawnServer({
    args: [path.join(repoRoot(), 'dist', 'bench', 'baselines', 'naive-server.js'), '--model-repository', modelRepository, '--port', '{port}'],
    logFile: path.join(resultsDir(), 'naive-server.log'),
    readyTimeoutMs: 120_000,
  });
}

/** Resident memory of a process in bytes (Linux /proc), or undefined where that cannot be read. */
export function residentBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface RssSample { tS: number; bytes: number }

/** Samples `pid`'s resident memory every `everyMs` until stopped; the first sample is taken at once. */
export function sampleRss(pid: number, everyMs: number): { stop: () => RssSample[] } {
  const samples: RssSample[] = [];
  const t0 = performance.now();
  const take = (): void => {
    const bytes = residentBytes(pid);
    if (bytes !== undefined) samples.push({ tS: (performance.now() - t0) / 1000, bytes });
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}
