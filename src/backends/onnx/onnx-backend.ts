import { stat } from 'node:fs/promises';
import { MessageChannel, type MessagePort, type Worker, receiveMessageOnPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { Backend, BackendSession, LoadSpec, RunOptions, RunTiming } from '../backend.js';
import { type Tensor, type TensorSpec, dataByteLength } from '../../core/tensor.js';
import { ShoalError } from '../../core/errors.js';
import { type Handover, type WireTensor, fromWire, toWire, transferList } from './convert.js';
import { MAX_INLINE_MODEL_BYTES, type Placement, type PlacementInput, RunCosts, choosePlacement, sizeClass } from './placement.js';
import type { FromWorker, ToWorker } from './messages.js';
import { SpareWorkers, nextMessage } from './spare-workers.js';

export interface OnnxBackendOptions {
  /**
   * Nice steps by which session worker threads (and onnxruntime's threads under them) yield to
   * the event loop when cores are short; 0 leaves them at the process's priority. Linux only.
   */
  workerNiceness?: number;
  /** The inline-or-worker decision; choosePlacement unless a test pins one. */
  placement?: (input: PlacementInput) => Placement;
  /** Worker threads kept idle for later loads (spare-workers.ts); 0 starts one per load and ends it at unload. */
  spareWorkers?: number;
}

/** Measured with the CNN bench on 2 cores: event-loop lag p99 at or under 10 ms with it, 15 ms without. */
export const DEFAULT_WORKER_NICENESS = 5;

/** As many as loads that may overlap (two, in the model manager) each find one ready. */
export const DEFAULT_SPARE_WORKERS = 2;

/**
 * onnxruntime-node behind the Backend interface. Each session lives on a worker thread of its
 * own, because onnxruntime-node's `run` computes on the calling thread: run on the event loop,
 * one large batch would stall every other request's I/O. A batch whose measured compute is
 * cheaper than the thread hop itself runs on a second, single-threaded session on the event
 * loop instead (placement.ts says when); that session exists only for small model files, and
 * only once a batch has been placed inline. Worker threads outlive their sessions: an unloaded
 * session's thread waits, idle, for the next load (spare-workers.ts).
 */
export class OnnxBackend implements Backend {
  readonly name = 'onnxruntime';
  private readonly placement: (input: PlacementInput) => Placement;
  private readonly spares: SpareWorkers;

  constructor(options: OnnxBackendOptions = {}) {
    this.placement = options.placement ?? choosePlacement;
    this.spares = new SpareWorkers({ niceness: options.workerNiceness ?? DEFAULT_WORKER_NICENESS }, options.spareWorkers ?? DEFAULT_SPARE_WORKERS);
  }

  /** Idle worker threads now, for tests and diagnostics. */
  get spareCount(): number {
    return this.spares.size;
  }

  /**
   * The footprint is the worker's own memory (what starting it took, or the typical figure for
   * an idle one) plus the resident-memory growth across session creation, which covers the
   * weights, arenas and pre-packed weights, floored at the file size. It is the session's alone
   * only when no other load ran meanwhile: the caller's to arrange (see Backend.load).
   */
  async load(spec: LoadSpec): Promise<BackendSession> {
    const fileBytes = spec.bytes?.byteLength ?? (await stat(spec.path)).size;
    const { worker, bytes: workerBytes } = await this.spares.take();
    const rssBefore = process.memoryUsage.rss();
    const results = new MessageChannel();
    const message: ToWorker = { kind: 'load', spec, results: results.port2 };
    worker.postMessage(message, [results.port2]);
    const first = await nextMessage(worker);
    if (first.kind !== 'loaded') {
      results.port1.close();
      // A worker that refused the model is still a good worker.
      if (first.kind !== 'load-failed' || !this.spares.keep(worker)) await worker.terminate();
      const why = first.kind === 'load-failed' || first.kind === 'gone' ? first.message : `unexpected ${first.kind}`;
      throw new ShoalError('unavailable', `${spec.path}: onnxruntime could not load the model: ${why}`);
    }
    const footprint = workerBytes + Math.max(fileBytes, process.memoryUsage.rss() - rssBefore);
    const inline = fileBytes <= MAX_INLINE_MODEL_BYTES ? spec : undefined;
    return new OnnxSession(worker, results.port1, first.inputs, first.outputs, footprint, inline, this.placement, (w) => this.spares.keep(w));
  }

  /** Starts spare worker threads until enough wait. */
  prepare(): Promise<void> {
    return this.spares.fill();
  }

  /** Ends the idle worker threads; sessions still loaded keep theirs. */
  close(): Promise<void> {
    return this.spares.close();
  }
}

interface Pending {
  resolve: (t: Tensor[]) => void;
  reject: (e: ShoalError) => void;
  /** performance.now() when the batch was posted, and its size class, for the estimates. */
  postedAt: number;
  sizeClass: number;
  /** Told where the run's time went, counted from `calledAt` (performance.now() when `run` was called). */
  timing?: ((t: RunTiming) => void) | undefined;
  calledAt: number;
}

/** Inline runs keep their estimate fresh from one run in this many. */
const MEASURE_INLINE_EVERY = 4;

/** A batch onnxruntime refused: inputs passed validation against the model's declared shapes, so this is the input's fault. */
const runFailed = (message: string): ShoalError => new ShoalError('invalid_argument', `the model could not run on this input: ${message}`);

class OnnxSession implements BackendSession {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private released: Promise<void> | undefined;
  private readonly costs = new RunCosts();
  /** Batches run each way so far, for diagnostics and tests. */
  readonly placed = { inline: 0, worker: 0 };
  /** The session on this thread, made once the estimates first place a batch inline. */
  private inline: ort.InferenceSession | undefined;
  private inlineAllowed: boolean;
  private inlineLoad: Promise<void> | undefined;
  /** Inline batches run so far, to time one in MEASURE_INLINE_EVERY. */
  private inlineRuns = 0;
  /** Inline batches under way, and who waits for there to be none (an unload). */
  private inlineRunning = 0;
  private inlineIdle: (() => void) | undefined;
  /** Resolves the unload once the worker is handed back or gone. */
  private handedBack: (() => void) | undefined;
  private readonly listeners = {
    message: (m: FromWorker) => this.onMessage(m),
    // A worker that dies takes its batch with it; fail what it held rather than hang.
    error: (e: Error) => this.failAll(`the session's worker thread failed: ${e.message}`),
    exit: () => {
      this.collect();
      this.results.close();
      this.failAll('the session was unloaded');
      this.handedBack?.();
    },
  };

  constructor(
    private readonly worker: Worker,
    /** Where the worker posts this session's results (see collect). */
    private readonly results: MessagePort,
    readonly inputs: TensorSpec[],
    readonly outputs: TensorSpec[],
    readonly footprintBytes: number,
    /** What to load the inline session from; undefined when the model is too big to run inline, or once loaded. */
    private inlineSource: LoadSpec | undefined,
    private readonly choose: (input: PlacementInput) => Placement,
    /** Takes the worker back once its session is released, for a later load; false: end it. */
    private readonly handBack: (worker: Worker) => boolean,
  ) {
    this.inlineAllowed = inlineSource !== undefined;
    results.on('message', this.listeners.message);
    // The worker, ref'd while it holds a session, is what keeps the process alive for it.
    results.unref();
    worker.on('message', this.listeners.message);
    worker.on('error', this.listeners.error);
    worker.on('exit', this.listeners.exit);
  }

  run(inputs: Tensor[], outputNames: string[], opts?: RunOptions): Promise<Tensor[]> {
    const calledAt = performance.now();
    if (this.released) return Promise.reject(new ShoalError('unavailable', 'the session was unloaded'));
    let bytes = 0;
    for (const t of inputs) bytes += dataByteLength(t.data);
    const size = sizeClass(bytes);
    const placement = this.choose({ computeMs: this.costs.computeMs(size), hopMs: this.costs.hopMs, inlineAllowed: this.inlineAllowed });
    if (placement === 'inline') {
      if (this.inline) {
        this.placed.inline++;
        return this.runInline(this.inline, inputs, outputNames, size);
      }
      this.loadInline();
    }
    this.placed.worker++;
    return this.runOnWorker(inputs, outputNames, size, opts?.inputsMovable === true ? 'move' : 'copy', opts?.timing, calledAt);
  }

  /**
   * Delivers the results the worker has already posted. A busy event loop reaches the port's
   * messages only once per turn, among every socket that turn serves; a scheduler that asks here
   * as each request arrives hands the instance its next batch that much sooner.
   */
  collect(): void {
    for (let m = receiveMessageOnPort(this.results); m; m = receiveMessageOnPort(this.results)) this.onMessage(m.message as FromWorker);
  }

  unload(): Promise<void> {
    this.released ??= (async () => {
      await this.inlineLoad;
      if (this.inlineRunning > 0) await new Promise<void>((resolve) => (this.inlineIdle = resolve));
      await this.inline?.release().catch(() => undefined);
      this.inline = undefined;
      await new Promise<void>((resolve) => {
        this.handedBack = resolve;
        const message: ToWorker = { kind: 'release' };
        this.worker.postMessage(message);
      });
    })();
    return this.released;
  }

  private runOnWorker(inputs: Tensor[], outputNames: string[], size: number, how: Handover, timing: ((t: RunTiming) => void) | undefined, calledAt: number): Promise<Tensor[]> {
    return new Promise<Tensor[]>((resolve, reject) => {
      const feeds = inputs.map((t) => toWire(t, how));
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject, postedAt: performance.now(), sizeClass: size, timing, calledAt });
      const message: ToWorker = { kind: 'run', id, feeds, fetches: outputNames };
      try {
        this.worker.postMessage(message, transferList(feeds));
      } catch (e) {
        // A buffer that may not be transferred (a slice of Node's shared pool, say) was offered as movable.
        this.pending.delete(id);
        throw new ShoalError('internal', `could not hand the batch to its worker thread: ${(e as Error).message}`);
      }
    });
  }

  private async runInline(session: ort.InferenceSession, inputs: Tensor[], outputNames: string[], size: number): Promise<Tensor[]> {
    let results: ort.InferenceSession.ReturnType;
    let began: number | undefined;
    this.inlineRunning++;
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of inputs) {
        const w = toWire(t, 'view');
        feeds[w.name] = new ort.Tensor(w.type, w.data as never, w.dims);
      }
      // onnxruntime-node defers the native run with setImmediate. An immediate queued just before
      // it runs just before it, and this function resumes in the microtasks right after it, so
      // the span is the time the run held the event loop, not time spent on other callbacks.
      // One run in MEASURE_INLINE_EVERY is timed: the extra immediate costs about a microsecond.
      if (this.inlineRuns++ % MEASURE_INLINE_EVERY === 0) {
        began = performance.now();
        setImmediate(() => {
          began = performance.now();
        });
      }
      results = await session.run(feeds, outputNames);
    } catch (e) {
      throw e instanceof ShoalError ? e : runFailed((e as Error).message);
    } finally {
      if (--this.inlineRunning === 0 && this.inlineIdle) this.inlineIdle();
    }
    if (began !== undefined) this.costs.recordCompute(size, performance.now() - began);
    return outputNames.map((name) => {
      const t = results[name];
      if (!t) throw runFailed(`onnxruntime returned no output '${name}'`);
      return fromWire({ name, type: t.type, dims: t.dims.map(Number), data: t.data as WireTensor['data'] });
    });
  }

  /** Starts loading the inline session; batches go to the worker until it is there. */
  private loadInline(): void {
    const spec = this.inlineSource;
    if (this.inlineLoad || !spec) return;
    this.inlineSource = undefined;
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: spec.graphOptimizationLevel,
      // One thread, the event loop's: an inline run must not wake a thread pool.
      executionMode: 'sequential',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
    };
    const created = spec.bytes ? ort.InferenceSession.create(spec.bytes, options) : ort.InferenceSession.create(spec.path, options);
    this.inlineLoad = created.then(
      (session) => {
        if (this.released) void session.release().catch(() => undefined);
        else this.inline = session;
      },
      () => {
        // The worker loaded this model; if this thread cannot, the worker keeps it all.
        this.inlineAllowed = false;
      },
    );
  }

  private onMessage(m: FromWorker): void {
    switch (m.kind) {
      case 'result': {
        const p = this.settle(m.id);
        if (!p) return;
        this.costs.recordCompute(p.sizeClass, m.computeMs);
        this.costs.recordHop(performance.now() - p.postedAt - m.computeMs);
        // From the call, so the copies made for the worker (a 'copy' handover) count as handing off.
        p.timing?.({ handOffMs: Math.max(0, m.startedAt - performance.timeOrigin - p.calledAt), inferMs: m.computeMs });
        let outputs: Tensor[];
        try {
          outputs = m.outputs.map(fromWire);
        } catch (e) {
          p.reject(e instanceof ShoalError ? e : new ShoalError('internal', (e as Error).message));
          return;
        }
        p.resolve(outputs);
        return;
      }
      case 'run-failed':
        this.settle(m.id)?.reject(runFailed(m.message));
        return;
      case 'released':
        // Its session is gone, so nothing more comes from it for this one: the next load may have it.
        // Its results were all posted before this message; they wait on the port, if anywhere.
        this.collect();
        this.results.off('message', this.listeners.message);
        this.results.close();
        if (this.handBack(this.worker)) {
          this.worker.off('message', this.listeners.message);
          this.worker.off('error', this.listeners.error);
          this.worker.off('exit', this.listeners.exit);
          this.handedBack?.();
        } else {
          void this.worker.terminate();
        }
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
