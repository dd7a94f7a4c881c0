import { type ShoalError, notFound, unavailable } from '../core/errors.js';
import type { ModelConfig, TensorConfig } from '../core/model-config.js';
import type { ModelState } from '../core/service.js';
import type { PartialConfig } from '../repository/config.js';
import type { RepositoryModel } from '../repository/repository.js';
import { RateMeter } from './eviction.js';
import type { LoadFailure } from './loading.js';
import type { ModelVersion } from './version-loader.js';

/** What the model manager knows of one model of the repository, loaded or not. */
export interface ModelEntry {
  name: string;
  state: ModelState;
  reason: string;
  /** Ready versions, highest first. */
  versions: ModelVersion[];
  /** Versions the repository lists, ready or not, for metadata. */
  listed: string[];
  /** The repository's last word on it: what an on-demand load loads. */
  source?: RepositoryModel;
  /** The config completed at its last load, kept after it is evicted so metadata still answers. */
  lastConfig?: ModelConfig;
  /** The load under way, which requests for the model share. */
  loading?: LoadUnderWay;
  /** Requests waiting for that load: the model is busy until they have their lease. */
  waiters: number;
  failure?: LoadFailure;
  /** The footprint measured when `measuredFiles` loaded (see measureFootprint); 0 before any. */
  measuredBytes: number;
  /** Which files it was measured for (paths, sizes, modification times): a reload of the same ones takes it unmeasured. */
  measuredFiles?: string;
  /**
   * Its last few loads' times (ms): their median is how long the next is expected to take, their
   * minimum the reload cost eviction weighs (residency.ts, reloadMs). One load's time is a poor
   * guess of the next: with worker threads reused, loads took from 5 to 300 ms for the same file
   * on 2 busy cores, and eviction weighing that noise evicted popular models whose last load
   * happened to be quick.
   */
  loadTimes: number[];
  lastUsedAt: number;
  rate: RateMeter;
  /** Unloaded through the API: requests do not load it again until the API does. */
  heldUnloaded: boolean;
}

/**
 * An on-demand load and who waits for it. Each waiter leaves at the end of its wait (its deadline
 * or timeout), refused, whether or not the load has finished; a load still queued or waiting for
 * room that nobody waits for any more is given up (`wanted`), since under overload such loads
 * would fill the lane with work whose every client has already had its answer.
 */
export interface LoadUnderWay {
  promise: Promise<void>;
  startedAt: number;
  /** Clock time each waiter waits until (Infinity: without bound). */
  waiting: Set<{ until: number }>;
  /**
   * Started for a request that could not wait for it: it goes on with nobody waiting, so that a
   * model loading slower than its clients' deadlines is not cold for ever.
   */
  keep: boolean;
}

/** The latest clock time a waiter of the load waits until; -Infinity when none waits. */
export function waitedUntil(l: LoadUnderWay): number {
  let until = Number.NEGATIVE_INFINITY;
  for (const w of l.waiting) if (w.until > until) until = w.until;
  return until;
}

/** Half-life of the request-rate estimate the cost-aware policy reads. */
const RATE_HALF_LIFE_MS = 30_000;

/** A model first seen in the repository: not loaded, never used. */
export function newEntry(name: string, listed: string[], now: number): ModelEntry {
  return {
    name, state: 'UNAVAILABLE', reason: '', versions: [], listed, waiters: 0, measuredBytes: 0, loadTimes: [],
    lastUsedAt: now, rate: new RateMeter(RATE_HALF_LIFE_MS), heldUnloaded: false,
  };
}

/** The ready version a request names, or the highest when it names none. */
export function pickVersion(entry: ModelEntry, version: string | undefined): ModelVersion {
  if (version === undefined) return entry.versions[0]!;
  const v = entry.versions.find((x) => x.version === version);
  if (v) return v;
  checkListed(entry, version);
  throw unavailable(`version '${version}' of model '${entry.name}' is not loaded`);
}

/** Refuses a version the repository does not list (not found), as opposed to one not loaded (unavailable). */
export function checkListed(entry: ModelEntry, version: string | undefined): void {
  if (version !== undefined && !entry.listed.includes(version)) {
    throw notFound(`unknown version '${version}' of model '${entry.name}' (versions: ${entry.listed.join(', ') || 'none'})`);
  }
}

export function isPinned(m: RepositoryModel): boolean {
  return m.config?.model_management?.pinned === true;
}

export function notReady(entry: ModelEntry): ShoalError {
  return unavailable(`model '${entry.name}' is ${entry.state.toLowerCase()}${entry.reason ? `: ${entry.reason}` : ''}`);
}

/** The config as a ModelConfig when the file alone says everything metadata needs. */
export function declaredConfig(p: PartialConfig): ModelConfig | undefined {
  if (p.max_batch_size === undefined || p.input.length === 0 || p.output.length === 0) return undefined;
  const full = (t: PartialConfig['input'][number]): t is TensorConfig => t.data_type !== undefined && t.dims !== undefined;
  if (!p.input.every(full) || !p.output.every(full)) return undefined;
  return { ...p, max_batch_size: p.max_batch_size, input: p.input, output: p.output };
}

/** Without a deadline or timeout on the request, the config's SLO bounds the wait; with neither, it is unbounded. */
export function defaultWaitMs(entry: ModelEntry): number {
  const slo = entry.source?.config?.slo?.default_deadline_microseconds ?? 0;
  return slo > 0 ? slo / 1000 : Infinity;
}
