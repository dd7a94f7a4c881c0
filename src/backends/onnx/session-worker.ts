/**
 * Owns one onnxruntime session on a worker thread. onnxruntime-node's `run` executes on the
 * calling thread (its promise only defers the call), so the event loop hands each batch here.
 */
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { TensorSpec } from '../../core/tensor.js';
import { type WireTensor, dataTypeFromOrt, transferList } from './convert.js';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

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

async function main(): Promise<void> {
  yieldToEventLoop(init.niceness);
  let session: ort.InferenceSession;
  try {
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: init.graphOptimizationLevel,
      executionMode: init.executionMode,
      intraOpNumThreads: init.intraOpThreads,
      interOpNumThreads: init.interOpThreads,
      executionProviders: ['cpu'],
      // Idle pool threads sleep rather than spin-wait for the next parallel section: a spinning
      // thread holds a core the event loop may need, and a server's cores are shared with it.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    session = init.bytes ? await ort.InferenceSession.create(init.bytes, options) : await ort.InferenceSession.create(init.path, options);
    send({ kind: 'loaded', inputs: specsOf(session.inputMetadata), outputs: specsOf(session.outputMetadata) });
  } catch (e) {
    send({ kind: 'load-failed', message: (e as Error).message });
    return;
  }

  port.on('message', (m: ToWorker) => {
    if (m.kind === 'release') {
      void session.release().finally(() => send({ kind: 'released' }));
      return;
    }
    void run(session, m.id, m.feeds, m.fetches);
  });
}

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
    send({ kind: 'result', id, outputs, computeMs }, transferList(outputs));
  } catch (e) {
    send({ kind: 'run-failed', id, message: (e as Error).message });
  }
}

void main();
