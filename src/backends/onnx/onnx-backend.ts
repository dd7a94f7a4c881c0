import { stat } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import type { Backend, BackendSession, LoadSpec } from '../backend.js';
import type { Tensor, TensorSpec } from '../../core/tensor.js';
import { ShoalError } from '../../core/errors.js';
import { dataTypeFromOrt, fromOrt, toOrt } from './convert.js';

const GRAPH_LEVEL = { disabled: 'disabled', basic: 'basic', extended: 'extended', all: 'all' } as const;

/**
 * onnxruntime-node behind the Backend interface. `session.run` executes on onnxruntime's
 * own threads, so the event loop stays free while a batch runs.
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
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: GRAPH_LEVEL[spec.graphOptimizationLevel],
      executionMode: spec.executionMode,
      intraOpNumThreads: spec.intraOpThreads,
      interOpNumThreads: spec.interOpThreads,
      executionProviders: ['cpu'],
    };
    const fileBytes = spec.bytes?.byteLength ?? (await stat(spec.path)).size;
    const rssBefore = process.memoryUsage.rss();
    let session: ort.InferenceSession;
    try {
      session = spec.bytes
        ? await ort.InferenceSession.create(spec.bytes, options)
        : await ort.InferenceSession.create(spec.path, options);
    } catch (e) {
      throw new ShoalError('unavailable', `${spec.path}: onnxruntime could not load the model: ${(e as Error).message}`);
    }
    // Weights usually dominate; the RSS delta also catches arenas and pre-packed weights.
    const footprint = Math.max(fileBytes, process.memoryUsage.rss() - rssBefore);
    return new OnnxSession(session, spec.path, footprint);
  }
}

function specsOf(meta: readonly ort.InferenceSession.ValueMetadata[], path: string): TensorSpec[] {
  return meta.map((m) => {
    if (!m.isTensor) throw new ShoalError('unavailable', `${path}: '${m.name}' is not a tensor; shoal serves tensor inputs and outputs only`);
    const datatype = dataTypeFromOrt(m.type);
    if (!datatype) throw new ShoalError('unavailable', `${path}: '${m.name}' has type '${m.type}', which has no KServe datatype`);
    const dims = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    return { name: m.name, datatype, dims };
  });
}

class OnnxSession implements BackendSession {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];

  constructor(private readonly session: ort.InferenceSession, path: string, readonly footprintBytes: number) {
    this.inputs = specsOf(session.inputMetadata, path);
    this.outputs = specsOf(session.outputMetadata, path);
  }

  async run(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = toOrt(t);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds, outputNames);
    } catch (e) {
      throw new ShoalError('internal', `onnxruntime failed: ${(e as Error).message}`);
    }
    return outputNames.map((name) => {
      const t = results[name];
      if (!t) throw new ShoalError('internal', `onnxruntime returned no output '${name}'`);
      return fromOrt(name, t);
    });
  }

  async unload(): Promise<void> {
    await this.session.release();
  }
}
