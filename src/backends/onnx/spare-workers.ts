import { MessageChannel, Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';

/**
 * The example identity_fp32 (src/onnx/examples/identity.ts; a test checks they are the same
 * bytes), built in, since the server does not otherwise load the model writer.
 */
export const TINY_MODEL = Buffer.from(
  'CAgSBXNob2FsOpEBCi8KCklOUFVUX0ZQMzISC09VVFBVVF9GUDMyGgpJZGVudGl0eV8wIghJZGVudGl0eRINaWRlbnRpdHlfZnAzMlIYT1VUUFVUX0ZQMzIgPSBJTlBVVF9GUDMyWhkKCklOUFVUX0ZQMzISCwoJCAESBQoDEgFuYhoKC09VVFBVVF9GUDMyEgsKCQgBEgUKAxIBbkICEBE=',
  'base64',
);

/**
 * Whether a session was made in this process yet. The first one costs about 28 MiB more than
 * any later one, whatever the model (onnxruntime's environment and allocators, made once per
 * process): the first worker makes and drops a session of TINY_MODEL, so that no model's
 * footprint carries that.
 */
let runtimeWarm = false;

/**
 * Session worker threads with no session, ready for a load. Starting one (a thread, a Node
 * environment, importing onnxruntime-node) took 100–200 ms on this 2-core machine, more than
 * creating most models' sessions, so a load takes an idle one when there is one: a worker whose
 * session was released (an eviction, an unload) or one started ahead by `fill`. At most
 * `capacity` wait; each holds memory no model's footprint counts (see docs/architecture.md,
 * Memory tiers). Idle workers do not keep the process alive.
 */
export class SpareWorkers {
  private readonly idle: Array<{ worker: Worker; onError: () => void; onExit: () => void }> = [];
  private starting = 0;
  /** Bumped by close: workers whose start began before it are not kept. */
  private generation = 0;
  /** Resident-memory growth across recent worker starts, for `workerBytes`. */
  private readonly startBytes: number[] = [];
  private firstStartBytes = 0;

  constructor(
    private readonly init: WorkerInit,
    readonly capacity: number,
  ) {}

  get size(): number {
    return this.idle.length;
  }

  /**
   * What one worker takes before it holds a session: the median of the last starts measured. A
   * median because each figure is off by whatever else allocated meanwhile, and the process's
   * first start also pays once for the runtime (about 20 MiB here) that later ones do not.
   */
  get workerBytes(): number {
    // Before any later start, the first one's figure: too high, rather than too low.
    if (this.startBytes.length === 0) return this.firstStartBytes;
    const sorted = [...this.startBytes].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }

  /** An idle worker, or a new one. `bytes`: what starting it took (measured now, or the typical figure for an idle one). */
  async take(): Promise<{ worker: Worker; bytes: number }> {
    const spare = this.idle.pop();
    if (spare) {
      const worker = this.unpark(spare);
      worker.ref();
      return { worker, bytes: this.workerBytes };
    }
    return this.start();
  }

  /** Keeps a worker with no session for a later load; false when enough wait already (the caller ends it). */
  keep(worker: Worker): boolean {
    if (this.idle.length >= this.capacity) return false;
    this.park(worker);
    return true;
  }

  /** Starts workers, one after another, until `capacity` wait. A failed start ends it: a load starts its own. */
  async fill(): Promise<void> {
    const generation = this.generation;
    while (this.idle.length + this.starting < this.capacity) {
      this.starting++;
      let started: { worker: Worker };
      try {
        started = await this.start();
      } catch {
        return;
      } finally {
        this.starting--;
      }
      if (generation !== this.generation || !this.keep(started.worker)) void started.worker.terminate();
    }
  }

  /** Ends the idle workers, and any still starting once they are up. */
  async close(): Promise<void> {
    this.generation++;
    const idle = this.idle.splice(0);
    await Promise.all(idle.map((entry) => this.unpark(entry).terminate()));
  }

  private park(worker: Worker): void {
    worker.unref();
    const entry = {
      worker,
      // A worker that fails while idle exits too: dropped then. Listened for, or it would be thrown.
      onError: () => undefined,
      onExit: () => {
        worker.off('error', entry.onError);
        const i = this.idle.indexOf(entry);
        if (i >= 0) this.idle.splice(i, 1);
      },
    };
    worker.on('error', entry.onError);
    worker.once('exit', entry.onExit);
    this.idle.push(entry);
  }

  private unpark(entry: { worker: Worker; onError: () => void; onExit: () => void }): Worker {
    entry.worker.off('error', entry.onError);
    entry.worker.off('exit', entry.onExit);
    return entry.worker;
  }

  private async start(): Promise<{ worker: Worker; bytes: number }> {
    const before = process.memoryUsage.rss();
    const worker = spawnWorker(this.init);
    const first = await nextMessage(worker);
    if (first.kind !== 'ready') {
      await worker.terminate();
      throw new Error(`the session worker thread did not start: ${first.kind === 'gone' ? first.message : `unexpected ${first.kind}`}`);
    }
    const bytes = Math.max(0, process.memoryUsage.rss() - before);
    // The process's first start also pays once for the thread machinery (about 20 MiB where a
    // later one took 10): a figure no other worker would take.
    if (runtimeWarm) {
      this.startBytes.push(bytes);
      if (this.startBytes.length > 9) this.startBytes.shift();
    } else {
      runtimeWarm = true;
      this.firstStartBytes = bytes;
      await warmRuntime(worker);
    }
    return { worker, bytes };
  }
}

/** Makes and drops a session of TINY_MODEL; a failure only means a model's footprint may carry the one-off cost. */
async function warmRuntime(worker: Worker): Promise<void> {
  const results = new MessageChannel();
  const load: ToWorker = { kind: 'load', spec: { path: '(built-in)', bytes: TINY_MODEL, intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' }, results: results.port2 };
  worker.postMessage(load, [results.port2]);
  await nextMessage(worker);
  const release: ToWorker = { kind: 'release' };
  worker.postMessage(release);
  await nextMessage(worker);
  results.port1.close();
}

/** The worker's next message, or why there will be none (it failed or exited). */
export function nextMessage(worker: Worker): Promise<FromWorker | { kind: 'gone'; message: string }> {
  return new Promise((resolve) => {
    const done = (m: FromWorker | { kind: 'gone'; message: string }): void => {
      worker.off('message', done);
      worker.off('error', onError);
      worker.off('exit', onExit);
      resolve(m);
    };
    const onError = (e: Error): void => done({ kind: 'gone', message: e.message });
    const onExit = (code: number): void => done({ kind: 'gone', message: `the worker thread exited (code ${code})` });
    worker.on('message', done);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** Under tsx or vitest the sources are TypeScript: the worker then registers tsx's loader first. */
function spawnWorker(init: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./session-worker.js', import.meta.url), { workerData: init });
  const source = new URL('./session-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}
