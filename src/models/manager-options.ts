import type { Backend } from '../backends/backend.js';
import type { Clock } from '../core/clock.js';
import type { ModelState } from '../core/service.js';
import type { EvictionPolicyName } from './eviction.js';
import type { BackoffOptions } from './loading.js';

// What the model manager is told (options, control mode) and what it reports (events); shared
// by model-manager.ts, which re-exports them, and residency.ts.

/**
 * Triton's model control modes, plus on-demand. `none`: every model loads at start (Triton's
 * default). `explicit`: only pinned models load at start; the repository API loads and unloads.
 * `on-demand` (shoal's): like explicit, and a request for a model that is not loaded loads it.
 */
export type ModelControlMode = 'none' | 'explicit' | 'on-demand';
export const MODEL_CONTROL_MODES: readonly ModelControlMode[] = ['none', 'explicit', 'on-demand'];

export type LoadCause = 'startup' | 'explicit' | 'on-demand';

/**
 * Two: a load is mostly CPU (creating the session, pre-packing weights), and on the 2-core
 * machine this was measured on a third would only queue for the cores; two let a small model's
 * reload pass a large one's instead of waiting behind it.
 */
export const DEFAULT_CONCURRENT_LOADS = 2;

/** What the manager reports, for metrics and logs. */
export interface ModelManagerEvents {
  loaded?(e: { model: string; cause: LoadCause; ms: number; footprintBytes: number; fromHostCache: boolean }): void;
  loadFailed?(e: { model: string; cause: LoadCause; reason: string }): void;
  /**
   * A request looked its model up: `hit` when the model was loaded; otherwise it waits for a load,
   * one it started or one under way (`joined`). Refusals before any wait (back-off, a deadline
   * the load cannot fit, a model that is not loadable) are not reported here.
   */
  lookedUp?(e: { model: string; hit: boolean; joined: boolean }): void;
  evicted?(e: { model: string; footprintBytes: number; forModel: string }): void;
}

export interface ModelManagerOptions {
  repository: string;
  backend: Backend;
  clock: Clock;
  maxQueueSize: number;
  /** Cores to share among instances when a config leaves thread counts to shoal. */
  cores?: number;
  onStateChange?: (name: string, state: ModelState) => void;
  /** 'none' unless given; the CLI makes it 'on-demand' when a memory budget is given. */
  controlMode?: ModelControlMode;
  /** Bytes all loaded models may take together; no limit when absent. */
  memoryBudgetBytes?: number;
  evictionPolicy?: EvictionPolicyName;
  /** Bytes of evicted models' files kept in memory; 0 or absent: no host cache. */
  hostCacheBytes?: number;
  backoff?: BackoffOptions;
  events?: ModelManagerEvents;
  /** Reloads (of files whose footprint is known) that may run at once; DEFAULT_CONCURRENT_LOADS unless given. */
  maxConcurrentLoads?: number;
  /** Resident memory of the process; process.memoryUsage.rss unless a test injects one. */
  memoryProbe?: () => number;
}
