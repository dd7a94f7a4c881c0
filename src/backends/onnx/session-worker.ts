/**
 * Owns one onnxruntime session at a time on a worker thread. onnxruntime-node's `run` executes on
 * the calling thread (its promise only defers the call), so the event loop hands each batch here.
 * The thread outlives its sessions: after a `release` it waits for the next `load` (messages.ts).
 */
import { readlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { TensorSpec } from '../../core/tensor.js';
import { type WireTensor, dataTypeFromOrt, transferList } from './convert.js';
import type { LoadSpec } from '../backend.js';
import { type FromWorker, type ToWorker, type WorkerInit, SESSION_THREAD_NAME } from './messages.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
/** The held session's results go to a port of their own, which the event loop may read out of turn (OnnxSession.collect). */
let results: MessagePort | undefined;
const answer = (m: FromWorker, transfer: ArrayBuffer[] = []) => (results ?? port).postMessage(m, transfer);

function specsOf(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return meta.map((m) => {
    if (!m.isTensor) throw new Error(`'${m.name}' is not a tensor; shoal serves tensor inputs and outputs only`);
    const datatype = dataTypeFromOrt(m.type);
    if (!datatype) throw new Error(`'${m.name}' has type '${m.type}', which has no KServe datatype`);
    return { name: m.name, datatype, dims: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  });
}

/**
 * Lowers this thread's scheduling priority by `steps` nice levels, so that when cores are
 * short the event loop (and the collector's threads) run first: its work per request is small,
 * and every request waits on it. onnxruntime's pool threads, made later by this thread, inherit
 * it. Linux only (niceness there is per thread); elsewhere, and wherever it is refused, a no-op.
 */
function yieldToEventLoop(steps: number): void {
  if (steps <= 0 || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.min(19, os.getPriority(tid) + steps));
  } catch {
    // Priority is a preference; the session works without it.
  }
}

/**
 * Names this thread `shoal-session` (Linux only), before onnxruntime makes its pool threads, which
 * take the name from it: `top -H`, `ps -L` and /proc then tell the session threads from the event
 * loop and V8's own helpers, which are all `node` otherwise (npm run bench reads them that way).
 */
function nameThread(): void {
  if (process.platform !== 'linux') return;
  try {
    writeFileSync('/proc/thread-self/comm', SESSION_THREAD_NAME);
  } catch {
    // A name is a convenience; the session works without it.
  }
}

/** The session this worker holds, if any: one at a time, from `load` to `release`. */
let session: ort.InferenceSession | undefined;

async function load(spec: LoadSpec): Promise<void> {
  try {
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: spec.graphOptimizationLevel,
      executionMode: spec.executionMode,
      intraOpNumThreads: spec.intraOpThreads,
      interOpNumThreads: spec.interOpThreads,
      executionProviders: ['cpu'],
      // Idle pool threads sleep rather than spin-wait for the next parallel section: a spinning
      // thread holds a core the event loop may need, and a server's cores are shared with it.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    const created = spec.bytes ? await ort.InferenceSession.create(spec.bytes, options) : await ort.InferenceSession.create(spec.path, options);
    let inputs: TensorSpec[];
    let outputs: TensorSpec[];
    try {
      inputs = specsOf(created.inputMetadata);
      outputs = specsOf(created.outputMetadata);
    } catch (e) {
      await created.release();
      throw e;
    }
    session = created;
    send({ kind: 'loaded', inputs, outputs });
  } catch (e) {
    send({ kind: 'load-failed', message: (e as Error).message });
  }
}

nameThread();
yieldToEventLoop(init.niceness);
port.on('message', (m: ToWorker) => {
  switch (m.kind) {
    case 'load':
      results?.close();
      results = m.results;
      void load(m.spec);
      return;
    case 'release': {
      const held = session;
      session = undefined;
      void (held ? held.release() : Promise.resolve()).catch(() => undefined).finally(() => {
        // Every result was posted before this, so the event loop finds them all on its port when 'released' arrives.
        results?.close();
        results = undefined;
        send({ kind: 'released' });
      });
      return;
    }
    case 'run':
      if (session) void run(session, m.id, m.feeds, m.fetches);
      else answer({ kind: 'run-failed', id: m.id, message: 'no session is loaded' });
      return;
  }
});
// onnxruntime is imported (this module's static import) and the thread is set up: a load now
// costs only the session itself.
send({ kind: 'ready' });

async function run(session: ort.InferenceSession, id: number, feeds: WireTensor[], fetches: string[]): Promise<void> {
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const f of feeds) inputs[f.name] = new ort.Tensor(f.type, f.data as never, f.dims);
    const start = performance.now();
    const results = await session.run(inputs, fetches);
    const computeMs = performance.now() - start;
    const outputs: WireTensor[] = fetches.map((name) => {
      const t = results[name];
      if (!t) throw new Error(`onnxruntime returned no output '${name}'`);
      return { name, type: t.type, dims: t.dims.map(Number), data: t.data as WireTensor['data'] };
    });
    answer({ kind: 'result', id, outputs, computeMs, startedAt: performance.timeOrigin + start }, transferList(outputs));
  } catch (e) {
    answer({ kind: 'run-failed', id, message: (e as Error).message });
  }
}

