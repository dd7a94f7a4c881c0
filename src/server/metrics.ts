import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelState } from '../core/service.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
const LAG_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1];
const STATES: ModelState[] = ['READY', 'UNAVAILABLE', 'LOADING', 'UNLOADING'];

/** The server's Prometheus metrics, each registered once in its own registry. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'shoal_inference_requests_total',
    help: 'Inference requests by model, version and outcome (success or the error kind)',
    labelNames: ['model', 'version', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly total = this.histogram('shoal_request_duration_seconds', 'Time from arrival to answer of successful inference requests');
  readonly queue = this.histogram('shoal_queue_duration_seconds', 'Time successful requests waited in the model queue');
  readonly compute = this.histogram('shoal_compute_duration_seconds', 'Time of the batch a successful request ran in, on the backend');
  readonly inflight = new Gauge({
    name: 'shoal_inflight_requests',
    help: 'Inference requests accepted and not yet answered',
    registers: [this.registry],
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
  private lagTimer: NodeJS.Timeout | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'shoal_' });
  }

  setModelState(model: string, state: ModelState): void {
    for (const s of STATES) this.modelState.set({ model, state: s }, s === state ? 1 : 0);
  }

  /** Samples event-loop lag as timer drift every `intervalMs`. */
  startLagSampler(intervalMs = 20): void {
    let expected = performance.now() + intervalMs;
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      this.eventLoopLag.observe(Math.max(0, now - expected) / 1000);
      expected = now + intervalMs;
    }, intervalMs);
    this.lagTimer.unref();
  }

  stop(): void {
    clearInterval(this.lagTimer);
  }

  private histogram(name: string, help: string): Histogram<'model' | 'version'> {
    return new Histogram({ name, help, labelNames: ['model', 'version'] as const, buckets: LATENCY_BUCKETS, registers: [this.registry] });
  }
}
