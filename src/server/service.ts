import type { Clock } from '../core/clock.js';
import { ShoalError, asShoalError, invalid, unavailable } from '../core/errors.js';
import type { InferRequest, InferResponse } from '../core/request.js';
import type { InferenceService, ModelMetadata, ModelStatistics, RepositoryEntry, ServerMetadata } from '../core/service.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelConfig } from '../core/model-config.js';
import { type LoadWaitBounds, loadWaitMs } from '../models/loading.js';
import type { ModelManager, ModelVersion } from '../models/model-manager.js';
import { validateRequest } from '../models/validate.js';
import { renderTritonConfig } from '../repository/render.js';
import { shapeKey } from '../scheduling/batch.js';
import type { Job } from '../scheduling/model-scheduler.js';
import type { SequenceControl } from '../scheduling/sequence.js';
import type { CounterSeries, HistogramSeries, Metrics } from './metrics.js';

export const SERVER_NAME = 'shoal';
export const SERVER_VERSION = '0.1.0';
const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'model_configuration', 'statistics', 'parameters'];

/**
 * The InferenceService the protocol adapters call: model lookup, request validation,
 * hand-off to the model's scheduler, and the bookkeeping (statistics, metrics) around it.
 */
interface VersionPlan {
  batched: boolean;
  /** The model has sequence_batching: requests may carry sequence_id. */
  sequenced: boolean;
  /** slo.default_deadline_microseconds in ms; 0: none. */
  defaultDeadlineMs: number;
  deadlineMisses: CounterSeries;
  /** The version's metric series, looked up once. */
  successes: CounterSeries;
  total: HistogramSeries;
  queue: HistogramSeries;
  compute: HistogramSeries;
  /** shoal_compute_seconds_total's input, infer and output series. */
  parts: { input: CounterSeries; infer: CounterSeries; output: CounterSeries };
}

export class Service implements InferenceService {
  private draining = false;
  private started = false;
  /** Per loaded version; a version that is unloaded and dropped takes its entry with it. */
  private readonly plans = new WeakMap<ModelVersion, VersionPlan>();

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
    // Answers for models that are not loaded too (see ModelManager.configOf), without loading them.
    const config = this.models.configOf(model, version);
    const batched = config.max_batch_size > 0;
    const spec = (t: ModelConfig['input'][number]) => ({ name: t.name, datatype: t.data_type, dims: batched ? [-1, ...t.dims] : t.dims });
    return {
      name: model,
      versions: this.models.listedVersions(model),
      platform: config.platform,
      inputs: config.input.map(spec),
      outputs: config.output.map(spec),
    };
  }

  modelReady(model: string, version?: string): boolean {
    return this.ready() && this.models.isReady(model, version);
  }

  modelConfig(model: string, version?: string): Record<string, unknown> {
    return renderTritonConfig(this.models.configOf(model, version));
  }

  async infer(req: InferRequest): Promise<InferResponse> {
    if (this.draining) throw unavailable('the server is shutting down and takes no new requests');
    let v: ModelVersion | undefined;
    let held: ModelVersion | undefined;
    this.metrics.inflightRequests++;
    try {
      // Exactly what an unknown model gets, at the same point, so a tenant cannot tell another's models from none.
      if (req.tenant !== undefined && !req.tenant.mayUse(req.model)) throw new ShoalError('not_found', `unknown model '${req.model}'`, undefined, 'model_not_permitted');
      // Held until answered, so that no eviction or unload takes the version from under it; a model
      // that is not loaded may be loaded first (on-demand mode), within the request's deadline.
      const params = schedulingParameters(req);
      const got = this.models.acquire(req.model, req.version, () => loadWaitMs(loadWaitBounds(req, params), this.clock.now()));
      v = got instanceof Promise ? await got : got;
      held = v;
      const plan = this.planFor(v);
      const rows = validateRequest(req, v.config);
      const inputs = toModelInputs(req.inputs, v.config, plan.batched);
      const sequence = sequenceControl(req, plan.sequenced, v.name);
      const result = await v.scheduler.submit(new RequestJob(inputs, rows, shapeKey(inputs, plan.batched, v.scheduler.padding), req, params, sequence));
      const totalMs = this.clock.now() - req.arrivalTime;
      // Answered, but late: admission and the policy refuse what they can predict, this counts what they could not.
      const deadlineMs = params.deadline ? params.deadline / 1000 : plan.defaultDeadlineMs;
      if (deadlineMs > 0 && totalMs > deadlineMs) plan.deadlineMisses.inc();
      v.stats.success(rows, totalMs, result.queueMs, result.compute);
      plan.successes.inc();
      plan.total.observe(totalMs / 1000);
      plan.queue.observe(result.queueMs / 1000);
      plan.compute.observe(result.computeMs / 1000);
      plan.parts.input.inc(result.compute.inputMs / 1000);
      plan.parts.infer.inc(result.compute.inferMs / 1000);
      plan.parts.output.inc(result.compute.outputMs / 1000);
      const outputs = toClientOutputs(result.outputs, req, v.config, plan.batched);
      return req.id !== undefined
        ? { id: req.id, model: v.name, version: v.version, outputs }
        : { model: v.name, version: v.version, outputs };
    } catch (e) {
      const err = asShoalError(e);
      v?.stats.failure(this.clock.now() - req.arrivalTime);
      // Names of models that do not exist stay out of the labels, which would otherwise grow without bound.
      this.metrics.requests.inc({ model: v?.name ?? '', version: v?.version ?? '', outcome: err.kind });
      if (err.reason !== undefined) {
        // Before a version is chosen, only the model manager refuses with a reason (loading,
        // load_declined, load_backoff, memory_full), and only for models in the repository; a
        // name not found is left out, like the requests metric above.
        if (v) this.metrics.refusals.inc({ model: v.name, version: v.version, reason: err.reason });
        else if (err.kind !== 'not_found') this.metrics.refusals.inc({ model: req.model, version: '', reason: err.reason });
      }
      throw err;
    } finally {
      this.metrics.inflightRequests--;
      if (held) this.models.release(held);
    }
  }

  /** What infer needs of a version beyond the version itself, worked out on its first request. */
  private planFor(v: ModelVersion): VersionPlan {
    let plan = this.plans.get(v);
    if (!plan) {
      const labels = { model: v.name, version: v.version };
      plan = {
        batched: v.config.max_batch_size > 0,
        sequenced: v.config.sequence_batching !== undefined,
        defaultDeadlineMs: (v.config.slo?.default_deadline_microseconds ?? 0) / 1000,
        deadlineMisses: this.metrics.deadlineMisses.series(labels),
        successes: this.metrics.requests.series({ ...labels, outcome: 'success' }),
        total: this.metrics.total.series(labels),
        queue: this.metrics.queue.series(labels),
        compute: this.metrics.compute.series(labels),
        parts: {
          input: this.metrics.computeParts.series({ ...labels, part: 'input' }),
          infer: this.metrics.computeParts.series({ ...labels, part: 'infer' }),
          output: this.metrics.computeParts.series({ ...labels, part: 'output' }),
        },
      };
      this.plans.set(v, plan);
    }
    return plan;
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

/**
 * A request's job for the scheduler. Whether it is `cancelled` is read only when the scheduler
 * asks, from the request's cheap flag where the adapter gives one, else from its signal (which
 * an adapter may make on first read).
 */
class RequestJob implements Job {
  readonly arrival: number;
  readonly priority: number | undefined;
  readonly timeoutMicroseconds: number | undefined;
  readonly deadlineMicroseconds: number | undefined;
  readonly tenant: InferRequest['tenant'];

  constructor(
    readonly inputs: Tensor[],
    readonly batchSize: number,
    readonly shapeKey: string,
    private readonly request: InferRequest,
    params: SchedulingParameters,
    readonly sequence: SequenceControl | undefined,
  ) {
    this.arrival = request.arrivalTime;
    this.priority = params.priority;
    this.timeoutMicroseconds = params.timeout;
    this.deadlineMicroseconds = params.deadline;
    this.tenant = request.tenant;
  }

  get cancelled(): boolean {
    const r = this.request;
    return r.cancelled ?? r.signal?.aborted ?? false;
  }

  get inputsMovable(): boolean {
    return this.request.inputsMovable === true;
  }
}

const MAX_SEQUENCE_ID_LENGTH = 256;

/**
 * Triton's sequence parameters: `sequence_id` (a non-zero unsigned integer or a string; 0 or
 * absent: none), `sequence_start` and `sequence_end` (booleans). A sequence model's scheduler
 * refuses a request without one; any other model refuses one with it, since the client
 * expects state to be kept that never would be.
 */
function sequenceControl(req: InferRequest, sequenced: boolean, model: string): SequenceControl | undefined {
  const p = req.parameters;
  const id = p.sequence_id;
  if (id === undefined || id === 0) {
    if (p.sequence_start !== undefined || p.sequence_end !== undefined) throw invalid("request parameters 'sequence_start' and 'sequence_end' need a 'sequence_id'");
    return undefined;
  }
  if (!sequenced) throw invalid(`model '${model}' keeps no sequences (its config has no sequence_batching); leave out 'sequence_id'`);
  const validNumber = typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
  const validString = typeof id === 'string' && id.length > 0 && id.length <= MAX_SEQUENCE_ID_LENGTH;
  if (!validNumber && !validString) {
    throw invalid(`request parameter 'sequence_id' must be a positive integer below 2^53 or a string of 1 to ${MAX_SEQUENCE_ID_LENGTH} characters `
      + `(larger ids lose precision as JSON numbers: send them as strings), got ${JSON.stringify(id)}`);
  }
  for (const name of ['sequence_start', 'sequence_end'] as const) {
    if (p[name] !== undefined && typeof p[name] !== 'boolean') throw invalid(`request parameter '${name}' must be true or false, got ${JSON.stringify(p[name])}`);
  }
  return { id, start: p.sequence_start === true, end: p.sequence_end === true };
}

interface SchedulingParameters {
  priority?: number;
  timeout?: number;
  deadline?: number;
}

const NO_SCHEDULING_PARAMETERS: SchedulingParameters = {};

/**
 * The request parameters the scheduler reads: Triton's `priority` (a level; 0 the default) and
 * `timeout` (µs in the queue), non-negative integers; and shoal's `deadline_ms` (ms after
 * arrival, a non-negative number), kept in µs like the others.
 */
function schedulingParameters(req: InferRequest): SchedulingParameters {
  const p = req.parameters;
  if (p.priority === undefined && p.timeout === undefined && p.deadline_ms === undefined) return NO_SCHEDULING_PARAMETERS;
  const out: SchedulingParameters = {};
  for (const name of ['priority', 'timeout'] as const) {
    const value = p[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw invalid(`request parameter '${name}' must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
    out[name] = value;
  }
  const deadline = p.deadline_ms;
  if (deadline !== undefined) {
    if (typeof deadline !== 'number' || !Number.isFinite(deadline) || deadline < 0) {
      throw invalid(`request parameter 'deadline_ms' must be a non-negative number of milliseconds, got ${JSON.stringify(deadline)}`);
    }
    out.deadline = Math.round(deadline * 1000);
  }
  return out;
}

/** The bounds on a request's wait for its model to load (see loadWaitMs), from its parsed parameters. */
function loadWaitBounds(req: InferRequest, params: SchedulingParameters): LoadWaitBounds {
  return {
    ...(params.deadline !== undefined && { deadlineMs: params.deadline / 1000 }),
    ...(params.timeout !== undefined && { timeoutMs: params.timeout / 1000 }),
    arrival: req.arrivalTime,
  };
}

/** Inputs in the model's order, reshaped where the config says the model wants another shape. */
function toModelInputs(inputs: Tensor[], config: ModelConfig, batched: boolean): Tensor[] {
  const specs = config.input;
  // Most requests give every input, in the model's order, none reshaped: then they go as they are.
  let asGiven = inputs.length === specs.length;
  for (let i = 0; asGiven && i < specs.length; i++) asGiven = specs[i]!.name === inputs[i]!.name && !specs[i]!.reshape;
  if (asGiven) return inputs;
  const ordered: Tensor[] = [];
  for (const spec of specs) {
    const t = inputs.find((x) => x.name === spec.name);
    if (!t) continue; // an optional input left out
    const reshape = spec.reshape?.shape;
    ordered.push(reshape ? { ...t, shape: batched ? [t.shape[0]!, ...reshape] : [...reshape] } : t);
  }
  return ordered;
}

/** The outputs the client asked for (all by default), in the shape the config promises. */
function toClientOutputs(outputs: Tensor[], req: InferRequest, config: ModelConfig, batched: boolean): Tensor[] {
  const specs = config.output;
  // Asked for none in particular, the client gets all, which the backend returns in the config's order.
  if (req.outputs === undefined && outputs.length === specs.length) {
    let asComputed = true;
    for (let i = 0; asComputed && i < specs.length; i++) asComputed = specs[i]!.name === outputs[i]!.name && !specs[i]!.reshape;
    if (asComputed) return outputs;
  }
  const wanted = req.outputs ? req.outputs.map((o) => o.name) : specs.map((o) => o.name);
  return wanted.map((name) => {
    const t = outputs.find((x) => x.name === name);
    if (!t) throw new ShoalError('internal', `the model produced no output '${name}'`);
    const spec = specs.find((o) => o.name === name);
    if (spec?.reshape) return { ...t, shape: batched ? [t.shape[0]!, ...spec.dims] : [...spec.dims] };
    return t;
  });
}
