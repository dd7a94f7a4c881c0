import type { ModelVersion } from './version-loader.js';

/**
 * The footprint the budget counts: the larger of the backend's per-session figures and the
 * process's resident-memory growth across the whole load and warm-up. The backend counts the
 * session's worker thread (what starting one takes) and measures around session creation
 * (onnxruntime's copy of the weights, pre-packing);
 * the span here adds what warm-up makes onnxruntime allocate (arena blocks for the first
 * runs). Honest enough to budget by: it counts what the process really took, with the
 * model's file size as a floor. What it misses: memory a model grows into later (larger
 * batches grow the arena; small models' inline session appears on first use), and a load that
 * reuses pages freed by an eviction measures low (the allocator keeps them). Against that, the
 * floor is the file size plus the mean per-session overhead (worker thread, runtime) measured
 * over earlier loads (LoadHistory). Other threads allocating meanwhile add noise both ways; other
 * loads would add far more, so a measured load runs alone, and files are measured once: a reload
 * of the same files (same paths, sizes and modification times) takes the figure their first
 * load measured (ModelEntry.measuredBytes; residency.ts).
 *
 * measureFootprint returns what was measured; the caller takes the larger of it and the floor,
 * and shares that out (shareFootprint). The history learns from what was
 * measured, not from the floored figure: else the first load's figure, which also pays once for
 * the runtime, would be every later model's floor for good.
 */
export function measureFootprint(loaded: readonly ModelVersion[], grownBytes: number): number {
  return Math.max(loaded.reduce((n, v) => n + v.footprintBytes, 0), grownBytes);
}

/** Shares a model's footprint out over its versions' `footprintBytes`, by the backend's figures, so that they sum to it. Returns it. */
export function shareFootprint(loaded: readonly ModelVersion[], footprint: number): number {
  const backend = loaded.reduce((n, v) => n + v.footprintBytes, 0);
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

  private measured = 0;

  /** One load's time, measured or not. */
  recordLoad(ms: number): void {
    this.seen++;
    this.meanMs += (ms - this.meanMs) / this.seen;
  }

  /** One measured load: `fileBytes` over all its `sessions`, which took `footprint` bytes in all. */
  recordFootprint(footprint: number, fileBytes: number, sessions: number): void {
    this.measured++;
    const overhead = Math.max(0, (footprint - fileBytes) / sessions);
    this.overhead += (overhead - this.overhead) / this.measured;
  }
}
