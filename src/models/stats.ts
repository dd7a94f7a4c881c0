import type { Duration, ModelStatistics } from '../core/service.js';

const MS_TO_NS = 1e6;

function duration(): Duration {
  return { count: 0, ns: 0 };
}

function add(d: Duration, ms: number): void {
  d.count += 1;
  d.ns += Math.round(ms * MS_TO_NS);
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

  success(rows: number, totalMs: number, queueMs: number, computeMs: number): void {
    this.lastInference = Date.now();
    this.inferenceCount += rows;
    add(this.inference.success, totalMs);
    add(this.inference.queue, queueMs);
    // onnxruntime gives one figure for a run; input and output handling is counted as part of it.
    add(this.inference.compute_input, 0);
    add(this.inference.compute_infer, computeMs);
    add(this.inference.compute_output, 0);
  }

  failure(totalMs: number): void {
    add(this.inference.fail, totalMs);
  }

  batch(rows: number, computeMs: number): void {
    this.executionCount += 1;
    let b = this.batches.get(rows);
    if (!b) {
      b = { compute_input: duration(), compute_infer: duration(), compute_output: duration() };
      this.batches.set(rows, b);
    }
    add(b.compute_input, 0);
    add(b.compute_infer, computeMs);
    add(b.compute_output, 0);
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
