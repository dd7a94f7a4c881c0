import type { Duration, ModelStatistics } from '../core/service.js';
import type { ComputeSplit } from '../scheduling/compute-split.js';

const MS_TO_NS = 1e6;

function duration(): Duration {
  return { count: 0, ns: 0 };
}

function add(d: Duration, ms: number): void {
  d.count += 1;
  d.ns += Math.round(ms * MS_TO_NS);
}

function addSplit(to: { compute_input: Duration; compute_infer: Duration; compute_output: Duration }, c: ComputeSplit): void {
  add(to.compute_input, c.inputMs);
  add(to.compute_infer, c.inferMs);
  add(to.compute_output, c.outputMs);
}

/** Cumulative counts and times of one model version, kept in Triton's statistics shape. */
export class VersionStats {
  private lastInference = 0;
  private inferenceCount = 0;
  private executionCount = 0;
  private readonly inference = {
    success: duration(), fail: duration(), queue: duration(),
    compute_input: duration(), compute_infer: duration(), compute_output: duration(),
  };
  private readonly batches = new Map<number, { compute_input: Duration; compute_infer: Duration; compute_output: Duration }>();

  constructor(private readonly name: string, private readonly version: string) {}

  success(rows: number, totalMs: number, queueMs: number, compute: ComputeSplit): void {
    this.lastInference = Date.now();
    this.inferenceCount += rows;
    add(this.inference.success, totalMs);
    add(this.inference.queue, queueMs);
    addSplit(this.inference, compute);
  }

  failure(totalMs: number): void {
    add(this.inference.fail, totalMs);
  }

  batch(rows: number, compute: ComputeSplit): void {
    this.executionCount += 1;
    let b = this.batches.get(rows);
    if (!b) {
      b = { compute_input: duration(), compute_infer: duration(), compute_output: duration() };
      this.batches.set(rows, b);
    }
    addSplit(b, compute);
  }

  snapshot(): ModelStatistics {
    return {
      name: this.name,
      version: this.version,
      last_inference: this.lastInference,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: structuredClone(this.inference),
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batch_size, d]) => ({ batch_size, ...structuredClone(d) })),
    };
  }
}
