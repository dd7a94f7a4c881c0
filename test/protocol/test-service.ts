/**
 * A small real InferenceService for the HTTP tests: the adapter's collaborator, not the thing
 * under test. Models:
 * - add:    INPUT0 + INPUT1 (FP32, any length) → SUM and DIFF
 * - echo:   returns its inputs unchanged, any datatype
 * - hang:   never answers; rejects with 'cancelled' when the request's signal aborts
 * - wait:   answers once released, and only then looks at the request's signal
 * - fail:   throws the ShoalError kind named by parameter "kind" (or a plain Error for "plain")
 * - cold:   known to the repository but not ready
 */
import { ShoalError, notFound, unavailable } from '../../src/core/errors.js';
import type { ErrorKind } from '../../src/core/errors.js';
import type { InferRequest, InferResponse } from '../../src/core/request.js';
import type {
  InferenceService, ModelMetadata, ModelStatistics, RepositoryEntry, ServerMetadata,
} from '../../src/core/service.js';
import type { Tensor } from '../../src/core/tensor.js';

const MODELS = ['add', 'echo', 'hang', 'wait', 'fail', 'cold'] as const;

export class TestService implements InferenceService {
  serverReady = true;
  loaded = new Set<string>(['add', 'echo', 'hang', 'wait', 'fail']);
  /** Requests as the service received them. */
  received: InferRequest[] = [];
  /** Resolves with each 'hang' request once its signal aborts. */
  private hangWaiters: Array<(r: InferRequest) => void> = [];
  private hangStarted: Array<(r: InferRequest) => void> = [];
  /** Let the 'wait' model go on; it then reports whether its signal had aborted. */
  release: () => void = () => {};
  waitSawAborted: boolean | undefined;

  live(): boolean {
    return true;
  }
  ready(): boolean {
    return this.serverReady;
  }
  serverMetadata(): ServerMetadata {
    return { name: 'test', version: '0.0.1', extensions: ['binary_tensor_data', 'model_repository', 'statistics'] };
  }
  modelMetadata(model: string, version?: string): ModelMetadata {
    this.known(model, version);
    const spec = (name: string) => ({ name, datatype: 'FP32' as const, dims: [-1] });
    return { name: model, versions: ['1'], platform: 'test', inputs: [spec('INPUT0'), spec('INPUT1')], outputs: [spec('SUM'), spec('DIFF')] };
  }
  modelReady(model: string, version?: string): boolean {
    this.known(model, version);
    return this.loaded.has(model);
  }
  modelConfig(model: string, version?: string): Record<string, unknown> {
    this.known(model, version);
    return { name: model, platform: 'onnxruntime_onnx', max_batch_size: 0 };
  }
  repositoryIndex(readyOnly: boolean): RepositoryEntry[] {
    return MODELS
      .map((name): RepositoryEntry => this.loaded.has(name)
        ? { name, version: '1', state: 'READY', reason: '' }
        : { name, state: 'UNAVAILABLE', reason: 'unloaded' })
      .filter((e) => !readyOnly || e.state === 'READY');
  }
  async loadModel(model: string): Promise<void> {
    this.known(model);
    this.loaded.add(model);
  }
  async unloadModel(model: string): Promise<void> {
    this.known(model);
    this.loaded.delete(model);
  }
  modelStatistics(model?: string, version?: string): ModelStatistics[] {
    if (model !== undefined) this.known(model, version);
    const zero = { count: 0, ns: 0 };
    return (model === undefined ? [...this.loaded] : [model]).map((name) => ({
      name, version: version ?? '1', last_inference: 0, inference_count: 0, execution_count: 0,
      inference_stats: { success: zero, fail: zero, queue: zero, compute_input: zero, compute_infer: zero, compute_output: zero },
      batch_stats: [],
    }));
  }

  async infer(request: InferRequest): Promise<InferResponse> {
    this.known(request.model, request.version);
    if (!this.loaded.has(request.model)) throw unavailable(`model '${request.model}' is not ready`);
    this.received.push(request);
    const respond = (outputs: Tensor[]): InferResponse => {
      const wanted = request.outputs?.map((o) => o.name);
      const picked = wanted === undefined ? outputs : outputs.filter((t) => wanted.includes(t.name));
      return { model: request.model, version: request.version ?? '1', outputs: picked };
    };
    switch (request.model) {
      case 'add': {
        const [a, b] = request.inputs;
        if (a === undefined || b === undefined || a.datatype !== 'FP32' || b.datatype !== 'FP32' || a.data.length !== b.data.length) {
          throw new ShoalError('invalid_argument', 'add needs two FP32 inputs of one length');
        }
        const x = a.data as Float32Array;
        const y = b.data as Float32Array;
        return respond([
          { name: 'SUM', datatype: 'FP32', shape: a.shape, data: x.map((v, i) => v + y[i]!) },
          { name: 'DIFF', datatype: 'FP32', shape: a.shape, data: x.map((v, i) => v - y[i]!) },
        ]);
      }
      case 'echo':
        return respond(request.inputs);
      case 'wait': {
        await new Promise<void>((r) => {
          this.release = r;
          for (const started of this.hangStarted.splice(0)) started(request);
        });
        this.waitSawAborted = request.signal?.aborted;
        request.signal?.throwIfAborted();
        return respond(request.inputs);
      }
      case 'hang':
        return new Promise((_resolve, reject) => {
          for (const started of this.hangStarted.splice(0)) started(request);
          request.signal?.addEventListener('abort', () => {
            for (const w of this.hangWaiters.splice(0)) w(request);
            reject(new ShoalError('cancelled', 'client went away'));
          });
        });
      default: {
        const kind = String(request.parameters.kind ?? 'internal');
        if (kind === 'plain') throw new Error('something broke');
        throw new ShoalError(kind as ErrorKind, `failed as asked: ${kind}`, kind === 'overloaded' ? 2.5 : undefined);
      }
    }
  }

  /** Resolves when a 'hang' request has reached the service. */
  nextHangStarted(): Promise<InferRequest> {
    return new Promise((r) => this.hangStarted.push(r));
  }
  /** Resolves when a 'hang' request's signal has aborted. */
  nextHangAborted(): Promise<InferRequest> {
    return new Promise((r) => this.hangWaiters.push(r));
  }

  private known(model: string, version?: string): void {
    if (!(MODELS as readonly string[]).includes(model)) throw notFound(`unknown model '${model}'`);
    if (version !== undefined && version !== '1') throw notFound(`model '${model}' has no version '${version}'`);
  }
}
