import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { Backend, BackendSession, LoadSpec } from '../backend.js';
import type { Tensor, TensorSpec } from '../../core/tensor.js';
import { ShoalError } from '../../core/errors.js';
import { fromWire, toWire, transferList } from './convert.js';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';

/**
 * onnxruntime-node behind the Backend interface. Each session lives on a worker thread of its
 * own, because onnxruntime-node's `run` computes on the calling thread: run on the event loop,
 * one large batch would stall every other request's I/O.
 */
export class OnnxBackend implements Backend {
  readonly name = 'onnxruntime';
  /**
   * Loads run one at a time so that the resident-memory growth measured around a load
   * belongs to that load alone.
   */
  private loading: Promise<unknown> = Promise.resolve();

  load(spec: LoadSpec): Promise<BackendSession> {
    const next = this.loading.then(() => this.loadNow(spec));
    this.loading = next.catch(() => undefined);
    return next;
  }

  private async loadNow(spec: LoadSpec): Promise<BackendSession> {
    const fileBytes = spec.bytes?.byteLength ?? (await stat(spec.path)).size;
    const rssBefore = process.memoryUsage.rss();
    const worker = startWorker(spec);
    const first = await new Promise<FromWorker>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch((e: Error) => ({ kind: 'load-failed', message: e.message }) as const);
    if (first.kind !== 'loaded') {
      await worker.terminate();
      const why = first.kind === 'load-failed' ? first.message : `unexpected ${first.kind}`;
      throw new ShoalError('unavailable', `${spec.path}: onnxruntime could not load the model: ${why}`);
    }
    // Weights usually dominate; the RSS delta also catches arenas and pre-packed weights.
    const footprint = Math.max(fileBytes, process.memoryUsage.rss() - rssBefore);
    return new OnnxSession(worker, first.inputs, first.outputs, footprint);
  }
}

/** Under tsx or vitest the sources are TypeScript: the worker then registers tsx's loader first. */
function startWorker(spec: LoadSpec): Worker {
  const init: WorkerInit = { ...spec };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./session-worker.js', import.meta.url), { workerData: init });
  const source = new URL('./session-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

interface Pending {
  resolve: (t: Tensor[]) => void;
  reject: (e: ShoalError) => void;
}

class OnnxSession implements BackendSession {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private released: Promise<void> | undefined;

  constructor(
    private readonly worker: Worker,
    readonly inputs: TensorSpec[],
    readonly outputs: TensorSpec[],
    readonly footprintBytes: number,
  ) {
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    // A worker that dies takes its batch with it; fail what it held rather than hang.
    worker.on('error', (e) => this.failAll(`the session's worker thread failed: ${e.message}`));
    worker.on('exit', () => this.failAll('the session was unloaded'));
  }

  run(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    if (this.released) return Promise.reject(new ShoalError('unavailable', 'the session was unloaded'));
    const feeds = inputs.map(toWire);
    const id = this.nextId++;
    return new Promise<Tensor[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const message: ToWorker = { kind: 'run', id, feeds, fetches: outputNames };
      this.worker.postMessage(message, transferList(feeds));
    });
  }

  unload(): Promise<void> {
    this.released ??= new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      const message: ToWorker = { kind: 'release' };
      this.worker.postMessage(message);
    });
    return this.released;
  }

  private onMessage(m: FromWorker): void {
    switch (m.kind) {
      case 'result':
        this.settle(m.id)?.resolve(m.outputs.map(fromWire));
        return;
      case 'run-failed':
        // Inputs passed validation against the model's declared shapes, so what onnxruntime
        // still rejects (an index out of a table's range, a size an op cannot take) is the input's fault.
        this.settle(m.id)?.reject(new ShoalError('invalid_argument', `the model could not run on this input: ${m.message}`));
        return;
      case 'released':
        void this.worker.terminate();
        return;
      default:
        return;
    }
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }

  private failAll(message: string): void {
    for (const p of this.pending.values()) p.reject(new ShoalError('internal', message));
    this.pending.clear();
  }
}
