import type { Clock } from '../core/clock.js';
import { ShoalError, asShoalError, unavailable } from '../core/errors.js';
import type { InferRequest, InferResponse } from '../core/request.js';
import type { InferenceService, ModelMetadata, ModelStatistics, RepositoryEntry, ServerMetadata } from '../core/service.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelConfig } from '../core/model-config.js';
import type { ModelManager, ModelVersion } from '../models/model-manager.js';
import { validateRequest } from '../models/validate.js';
import { renderTritonConfig } from '../repository/render.js';
import { shapeKey } from '../scheduling/batch.js';
import type { Metrics } from './metrics.js';

export const SERVER_NAME = 'shoal';
export const SERVER_VERSION = '0.1.0';
const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'model_configuration', 'statistics', 'parameters'];

/**
 * The InferenceService the protocol adapters call: model lookup, request validation,
 * hand-off to the model's scheduler, and the bookkeeping (statistics, metrics) around it.
 */
export class Service implements InferenceService {
  private draining = false;
  private started = false;

  constructor(
    private readonly models: ModelManager,
    private readonly metrics: Metrics,
    private readonly clock: Clock,
  ) {}

  markStarted(): void {
    this.started = true;
  }

  /** Readiness turns false and new inference requests are refused; requests already accepted finish. */
  startDraining(): void {
    this.draining = true;
  }

  live(): boolean {
    return true;
  }

  ready(): boolean {
    return this.started && !this.draining;
  }

  serverMetadata(): ServerMetadata {
    return { name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS };
  }

  modelMetadata(model: string, version?: string): ModelMetadata {
    const v = this.models.resolve(model, version);
    const batched = v.config.max_batch_size > 0;
    const spec = (t: ModelConfig['input'][number]) => ({ name: t.name, datatype: t.data_type, dims: batched ? [-1, ...t.dims] : t.dims });
    return {
      name: model,
      versions: this.models.listedVersions(model),
      platform: v.config.platform,
      inputs: v.config.input.map(spec),
      outputs: v.config.output.map(spec),
    };
  }

  modelReady(model: string, version?: string): boolean {
    return this.ready() && this.models.isReady(model, version);
  }

  modelConfig(model: string, version?: string): Record<string, unknown> {
    return renderTritonConfig(this.models.resolve(model, version).config);
  }

  async infer(req: InferRequest): Promise<InferResponse> {
    if (this.draining) throw unavailable('the server is shutting down and takes no new requests');
    let v: ModelVersion | undefined;
    this.metrics.inflight.inc();
    try {
      v = this.models.resolve(req.model, req.version);
      const rows = validateRequest(req, v.config);
      const batched = v.config.max_batch_size > 0;
      const inputs = toModelInputs(req.inputs, v.config, batched);
      const result = await v.scheduler.submit({ inputs, batchSize: rows, shapeKey: shapeKey(inputs, batched), signal: req.signal });
      const totalMs = this.clock.now() - req.arrivalTime;
      v.stats.success(rows, totalMs, result.queueMs, result.computeMs);
      const labels = { model: v.name, version: v.version };
      this.metrics.requests.inc({ ...labels, outcome: 'success' });
      this.metrics.total.observe(labels, totalMs / 1000);
      this.metrics.queue.observe(labels, result.queueMs / 1000);
      this.metrics.compute.observe(labels, result.computeMs / 1000);
      return {
        ...(req.id !== undefined && { id: req.id }),
        model: v.name,
        version: v.version,
        outputs: toClientOutputs(result.outputs, req, v.config, batched),
      };
    } catch (e) {
      const err = asShoalError(e);
      v?.stats.failure(this.clock.now() - req.arrivalTime);
      // Names of models that do not exist stay out of the labels, which would otherwise grow without bound.
      this.metrics.requests.inc({ model: v?.name ?? '', version: v?.version ?? '', outcome: err.kind });
      throw err;
    } finally {
      this.metrics.inflight.dec();
    }
  }

  repositoryIndex(readyOnly: boolean): RepositoryEntry[] {
    const all = this.models.index();
    return readyOnly ? all.filter((e) => e.state === 'READY') : all;
  }

  loadModel(model: string): Promise<void> {
    return this.models.load(model);
  }

  unloadModel(model: string): Promise<void> {
    return this.models.unload(model);
  }

  modelStatistics(model?: string, version?: string): ModelStatistics[] {
    if (model === undefined) return this.models.loaded().map((v) => v.stats.snapshot());
    const versions = version === undefined ? this.models.loaded().filter((v) => v.name === model) : [this.models.resolve(model, version)];
    if (versions.length === 0) this.models.resolve(model); // throws the right error for unknown or unloaded models
    return versions.map((v) => v.stats.snapshot());
  }
}

/** Inputs in the model's order, reshaped where the config says the model wants another shape. */
function toModelInputs(inputs: Tensor[], config: ModelConfig, batched: boolean): Tensor[] {
  const byName = new Map(inputs.map((t) => [t.name, t]));
  const ordered: Tensor[] = [];
  for (const spec of config.input) {
    const t = byName.get(spec.name);
    if (!t) continue; // an optional input left out
    const reshape = spec.reshape?.shape;
    ordered.push(reshape ? { ...t, shape: batched ? [t.shape[0]!, ...reshape] : [...reshape] } : t);
  }
  return ordered;
}

/** The outputs the client asked for (all by default), in the shape the config promises. */
function toClientOutputs(outputs: Tensor[], req: InferRequest, config: ModelConfig, batched: boolean): Tensor[] {
  const wanted = req.outputs ? req.outputs.map((o) => o.name) : config.output.map((o) => o.name);
  const byName = new Map(outputs.map((t) => [t.name, t]));
  return wanted.map((name) => {
    const t = byName.get(name);
    if (!t) throw new ShoalError('internal', `the model produced no output '${name}'`);
    const spec = config.output.find((o) => o.name === name);
    if (spec?.reshape) return { ...t, shape: batched ? [t.shape[0]!, ...spec.dims] : [...spec.dims] };
    return t;
  });
}
