import { Counter, Gauge, Histogram, type Metric, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelState } from '../core/service.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
const LAG_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1];
const STATES: ModelState[] = ['READY', 'UNAVAILABLE', 'LOADING', 'UNLOADING'];

/** How often the event-loop lag timer is due (ms). */
export const LAG_SAMPLE_MS = 20;

/** The server's Prometheus metrics, each registered once in its own registry. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new SeriesCounter<'model' | 'version' | 'outcome'>(
    this.registry, 'shoal_inference_requests_total', 'Inference requests by model, version and outcome (success or the error kind)',
  );
  /** Requests the scheduler or the model manager refused; rare, so a plain prom-client Counter. */
  readonly refusals = new Counter({
    name: 'shoal_refusals_total',
    help: 'Inference requests refused by the scheduler (queue_full, queue_timeout, deadline, invalid_priority) or, before a version was chosen (version=""), by the model manager (loading, load_declined, load_backoff, memory_full), by model, version and reason',
    labelNames: ['model', 'version', 'reason'] as const,
    registers: [this.registry],
  });
  /** Per tenant (names come from the tenants file, so the label set stays bounded). */
  readonly tenantRequests = new SeriesCounter<'tenant' | 'outcome'>(
    this.registry, 'shoal_tenant_requests_total', 'Inference requests by tenant and outcome (success or the error kind); only with a tenants file',
  );
  readonly tenantRefusals = new Counter({
    name: 'shoal_tenant_refusals_total',
    help: 'Requests refused by tenant and reason (unauthenticated, not_admin, rate_limit, concurrency_quota, model_not_permitted, or a scheduler reason); only with a tenants file',
    labelNames: ['tenant', 'reason'] as const,
    registers: [this.registry],
  });
  /** Successful requests answered after their deadline (their own deadline_ms or the model's slo). */
  readonly deadlineMisses = new SeriesCounter<'model' | 'version'>(
    this.registry, 'shoal_deadline_misses_total', 'Inference requests answered after their deadline, by model and version',
  );
  readonly total = this.histogram('shoal_request_duration_seconds', 'Time from arrival to answer of successful inference requests');
  readonly queue = this.histogram('shoal_queue_duration_seconds', 'Time successful requests waited in the model queue');
  readonly compute = this.histogram('shoal_compute_duration_seconds', 'Time of the batch a successful request ran in, on the backend');
  /** The same time in Triton's three parts, summed over successful requests (src/scheduling/compute-split.ts). */
  readonly computeParts = new SeriesCounter<'model' | 'version' | 'part'>(
    this.registry, 'shoal_compute_seconds_total',
    "Time of the batches successful requests ran in, summed, by part: input (joining the inputs and handing them to the session's thread), infer (the model's own run), output (the way back to the event loop)",
  );
  /** Inference requests accepted and not yet answered; a plain number, read into the gauge at each scrape. */
  inflightRequests = 0;
  readonly inflight: Gauge = new Gauge({
    name: 'shoal_inflight_requests',
    help: 'Inference requests accepted and not yet answered',
    registers: [this.registry],
    collect: () => this.inflight.set(this.inflightRequests),
  });
  /** Where the queue-depth gauge reads each loaded version's waiting requests at scrape time; set by the server. */
  queueDepths: () => Iterable<{ model: string; version: string; depth: number }> = () => [];
  readonly queueDepth: Gauge<'model' | 'version'> = new Gauge({
    name: 'shoal_queue_depth',
    help: "Requests waiting in each loaded model version's queue, at scrape time",
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
    collect: () => {
      // Reset first, so that an unloaded version's series goes instead of freezing at its last depth.
      this.queueDepth.reset();
      for (const q of this.queueDepths()) this.queueDepth.set({ model: q.model, version: q.version }, q.depth);
    },
  });
  readonly modelState = new Gauge({
    name: 'shoal_model_state',
    help: '1 for the state each model is in, 0 for the others',
    labelNames: ['model', 'state'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'shoal_batch_size',
    help: 'Rows in each batch executed',
    labelNames: ['model', 'version'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });
  readonly eventLoopLag = new Histogram({
    name: 'shoal_event_loop_lag_seconds',
    help: 'How late a periodic timer fired: time the event loop was busy and could not serve I/O',
    buckets: LAG_BUCKETS,
    registers: [this.registry],
  });
  /** Model memory management (src/models): what is loaded against the budget, loads, evictions, the host cache. */
  readonly modelLoads = new Counter({
    name: 'shoal_model_loads_total',
    help: 'Model loads by model, cause (startup, explicit, on-demand) and outcome (success, failure)',
    labelNames: ['model', 'cause', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly modelEvictions = new Counter({
    name: 'shoal_model_evictions_total',
    help: 'Models evicted by model and reason (memory: to make room for another under the budget)',
    labelNames: ['model', 'reason'] as const,
    registers: [this.registry],
  });
  readonly modelLoadDuration = new Histogram({
    name: 'shoal_model_load_duration_seconds',
    help: 'Time of successful model loads, warm-up included',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  /** Every inference request adds one, so series are looked up once per model (see SeriesCounter). */
  readonly lookups = new SeriesCounter<'model' | 'result'>(
    this.registry,
    'shoal_model_lookups_total',
    'Inference requests by whether their model was loaded when they came (result="hit") or they waited for a load, one they started or one under way (result="miss")',
  );
  readonly hostCacheHits = new Counter({
    name: 'shoal_host_cache_hits_total',
    help: 'Model loads that took the model file from the host cache instead of the disk',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  /** What the memory gauges read at each scrape; set by the server. */
  memorySource: (() => { budgetBytes: number | undefined; residentBytes: number; models: number; hostCacheBytes: number }) | undefined;
  readonly modelsLoaded: Gauge = new Gauge({
    name: 'shoal_models_loaded',
    help: 'Models with at least one version loaded',
    registers: [this.registry],
    collect: () => this.modelsLoaded.set(this.memorySource?.().models ?? 0),
  });
  readonly residentBytes: Gauge = new Gauge({
    name: 'shoal_model_memory_bytes',
    help: 'Measured footprint of the loaded models (resident), the memory budget (budget; absent without one) and the host cache (host_cache)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
    collect: () => {
      const m = this.memorySource?.();
      if (!m) return;
      this.residentBytes.set({ kind: 'resident' }, m.residentBytes);
      if (m.budgetBytes !== undefined) this.residentBytes.set({ kind: 'budget' }, m.budgetBytes);
      this.residentBytes.set({ kind: 'host_cache' }, m.hostCacheBytes);
    },
  });
  private lagTimer: NodeJS.Timeout | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'shoal_' });
  }

  setModelState(model: string, state: ModelState): void {
    for (const s of STATES) this.modelState.set({ model, state: s }, s === state ? 1 : 0);
  }

  /** Samples event-loop lag as timer drift every `intervalMs`, and tells `onSample` each one (ms, and when). */
  startLagSampler(intervalMs = LAG_SAMPLE_MS, onSample?: (lagMs: number, at: number) => void): void {
    let expected = performance.now() + intervalMs;
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, now - expected);
      this.eventLoopLag.observe(lag / 1000);
      onSample?.(lag, now);
      expected = now + intervalMs;
    }, intervalMs);
    this.lagTimer.unref();
  }

  stop(): void {
    clearInterval(this.lagTimer);
  }

  private histogram(name: string, help: string): SeriesHistogram<'model' | 'version'> {
    return new SeriesHistogram(this.registry, name, help, LATENCY_BUCKETS);
  }
}

/*
 * Metrics on the per-request path. prom-client's own `inc` and `observe` check and hash their
 * labels and allocate on every call: four of them cost several microseconds a request, as much
 * as a small model's inference. Here a caller looks a label set's series up once (the service
 * keeps them per model version), and counting is an addition. Both classes register in the
 * same prom-client registry and render exactly as prom-client's Counter and Histogram do.
 */

type Labels<L extends string> = Readonly<Record<L, string>>;

const labelKey = (labels: Readonly<Record<string, string>>): string => JSON.stringify(labels);

/** One label set of a SeriesCounter. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
  inc(n = 1): void {
    this.value += n;
  }
}

/** A counter whose label sets are kept as series. Labels render in the order the first lookup gave them. */
export class SeriesCounter<L extends string> {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly byKey = new Map<string, CounterSeries>();

  constructor(registry: Registry, readonly name: string, readonly help: string) {
    // The registry only asks a metric for its name and values; this class has both.
    registry.registerMetric(this as unknown as Metric);
  }

  series(labels: Labels<L>): CounterSeries {
    const key = labelKey(labels);
    let s = this.byKey.get(key);
    if (!s) {
      s = new CounterSeries({ ...labels });
      this.byKey.set(key, s);
    }
    return s;
  }

  inc(labels: Labels<L>, n = 1): void {
    this.series(labels).inc(n);
  }

  get(): Promise<{ name: string; help: string; type: 'counter'; aggregator: 'sum'; values: Array<{ value: number; labels: Record<string, string> }> }> {
    const values = [...this.byKey.values()].map((s) => ({ value: s.value, labels: { ...s.labels } }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** Zeroes every series in place, so that series callers hold stay the registry's. */
  reset(): void {
    for (const s of this.byKey.values()) s.value = 0;
  }
}

/** One label set of a SeriesHistogram: per-bucket counts, made cumulative when rendered. */
export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly labels: Readonly<Record<string, string>>, private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

interface HistogramValue {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels: Readonly<Record<string, string>>;
  metricName: string;
  /** prom-client's buckets carry one (null without exemplars); kept for the same JSON. */
  exemplar?: null;
}

/** A histogram whose label sets are kept as series; an observation lands in the first bucket whose bound it does not exceed. */
export class SeriesHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly byKey = new Map<string, HistogramSeries>();

  constructor(registry: Registry, readonly name: string, readonly help: string, private readonly bounds: readonly number[]) {
    registry.registerMetric(this as unknown as Metric);
  }

  series(labels: Labels<L>): HistogramSeries {
    const key = labelKey(labels);
    let s = this.byKey.get(key);
    if (!s) {
      s = new HistogramSeries({ ...labels }, this.bounds);
      this.byKey.set(key, s);
    }
    return s;
  }

  observe(labels: Labels<L>, value: number): void {
    this.series(labels).observe(value);
  }

  /** As prom-client's Histogram gives it to the registry for the text format: `le` first, the series' labels after. */
  getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramValue[] }> {
    const bucket = `${this.name}_bucket`;
    const values: HistogramValue[] = [];
    for (const s of this.byKey.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ labels: { le }, value: acc, metricName: bucket, exemplar: null, sharedLabels: s.labels });
      });
      values.push(
        { labels: { le: '+Inf' }, value: s.count, metricName: bucket, exemplar: null, sharedLabels: s.labels },
        { labels: {}, value: s.sum, metricName: `${this.name}_sum`, sharedLabels: s.labels },
        { labels: {}, value: s.count, metricName: `${this.name}_count`, sharedLabels: s.labels },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** As prom-client's Histogram gives it for JSON: each value's labels whole. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Array<Omit<HistogramValue, 'sharedLabels'>> }> {
    const m = await this.getForPromString();
    return {
      ...m,
      values: m.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })),
    };
  }

  reset(): void {
    for (const s of this.byKey.values()) s.clear();
  }
}
