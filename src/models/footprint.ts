import type { ModelVersion } from './version-loader.js';

/**
 * The footprint the budget counts: the larger of the backend's per-session figures and the
 * process's resident-memory growth across the whole load and warm-up. The backend measures
 * around session creation (worker thread, onnxruntime's copy of the weights, pre-packing);
 * the span here adds what warm-up makes onnxruntime allocate (arena blocks for the first
 * runs). Honest enough to budget by: it counts what the process really took, with the
 * model's file size as a floor. What it misses: memory a model grows into later (larger
 * batches grow the arena; small models' inline session appears on first use), and a load that
 * reuses pages freed by an eviction measures low (the allocator keeps them). Against that, the
 * largest figure measured for the same files is kept (`largestBytes`), and the floor is the file
 * size plus the mean per-session overhead (worker thread, runtime) measured over earlier loads
 * (LoadHistory). Other threads allocating meanwhile add noise both ways.
 *
 * Returns the model's footprint and shares it out over the versions' `footprintBytes`.
 */
export function measureFootprint(loaded: readonly ModelVersion[], grownBytes: number, floorBytes: number, largestBytes: number): number {
  const backend = loaded.reduce((n, v) => n + v.footprintBytes, 0);
  const footprint = Math.max(backend, grownBytes, floorBytes, largestBytes);
  // Shared out by the backend's figures, so that each version's field sums to the model's.
  for (const v of loaded) v.footprintBytes = backend > 0 ? Math.round((footprint * v.footprintBytes) / backend) : Math.round(footprint / loaded.length);
  return footprint;
}

/** Learned from loads so far, for estimates of models never loaded: mean load time and per-session overhead. */
export class LoadHistory {
  private meanMs = 0;
  private overhead = 0;
  private seen = 0;

  get meanLoadMs(): number {
    return this.meanMs;
  }

  /** Bytes a session takes beyond its model's file (worker thread, runtime), on average. */
  get overheadPerSession(): number {
    return this.overhead;
  }

  /** One load: `fileBytes` over all its `sessions`, which took `footprint` bytes in all. */
  record(ms: number, footprint: number, fileBytes: number, sessions: number): void {
    this.seen++;
    this.meanMs += (ms - this.meanMs) / this.seen;
    const overhead = Math.max(0, (footprint - fileBytes) / sessions);
    this.overhead += (overhead - this.overhead) / this.seen;
  }
}
