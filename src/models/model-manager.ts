import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import type { Backend, BackendSession } from '../backends/backend.js';
import type { Clock } from '../core/clock.js';
import { ShoalError, notFound, unavailable } from '../core/errors.js';
import type { ModelConfig, TensorConfig } from '../core/model-config.js';
import type { ModelState, RepositoryEntry } from '../core/service.js';
import { completeConfig } from '../repository/autocomplete.js';
import { type PartialConfig, defaultPartialConfig } from '../repository/config.js';
import { type RepositoryModel, scanRepository } from '../repository/repository.js';
import { ModelScheduler, type Scheduler } from '../scheduling/model-scheduler.js';
import { LatencyProfile } from '../scheduling/profile.js';
import { paddingOf } from '../scheduling/ragged.js';
import { clientTensors, sequenceSchedulerOf } from '../scheduling/sequence-config.js';
import { batchingConfigOf, queueRulesOf } from '../scheduling/rules.js';
import { type EvictionPolicy, type EvictionPolicyName, RateMeter, type ResidentModel, evictionPolicy } from './eviction.js';
import { HostCache } from './host-cache.js';
import { Leases } from './leases.js';
import { type BackoffOptions, DEFAULT_BACKOFF, type LoadFailure, backoffRemainingMs, canWaitForLoad, recordFailure } from './loading.js';
import { VersionStats } from './stats.js';
import { runWarmup, warmupSamples } from './warmup.js';

/** A model version that is loaded: its configuration, sessions and scheduler. */
export interface ModelVersion {
  name: string;
  version: string;
  config: ModelConfig;
  scheduler: Scheduler;
  sessions: BackendSession[];
  stats: VersionStats;
  /** Measured at load (see measureFootprint); what the memory budget counts. */
  footprintBytes: number;
  /** The file it was loaded from: what the host cache keeps once it is evicted. */
  modelFile: string;
  /** Requests holding it, from acquire to answer: nothing releases it while there are any. */
  leases: Leases;
}

/**
 * Triton's model control modes, plus on-demand. `none`: every model loads at start (Triton's
 * default). `explicit`: only pinned models load at start; the repository API loads and unloads.
 * `on-demand` (shoal's): like explicit, and a request for a model that is not loaded loads it.
 */
export type ModelControlMode = 'none' | 'explicit' | 'on-demand';
export const MODEL_CONTROL_MODES: readonly ModelControlMode[] = ['none', 'explicit', 'on-demand'];

export type LoadCause = 'startup' | 'explicit' | 'on-demand';

/** What the manager reports, for metrics and logs. */
export interface ModelManagerEvents {
  loaded?(e: { model: string; cause: LoadCause; ms: number; footprintBytes: number; fromHostCache: boolean }): void;
  loadFailed?(e: { model: string; cause: LoadCause; reason: string }): void;
  /** A request found its model not loaded and waits for a load: one it started, or one under way (`joined`). */
  missed?(e: { model: string; joined: boolean }): void;
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
  /** Resident memory of the process; process.memoryUsage.rss unless a test injects one. */
  memoryProbe?: () => number;
}

interface ModelEntry {
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
  loading?: { promise: Promise<void>; startedAt: number };
  /** Requests waiting for that load: the model is busy until they have their lease. */
  waiters: number;
  failure?: LoadFailure;
  /** Largest footprint measured for these files (see measureFootprint). */
  maxFootprintBytes: number;
  /** How long its last load took (ms): the reload cost eviction weighs. */
  loadMs: number;
  lastUsedAt: number;
  rate: RateMeter;
  /** Unloaded through the API: requests do not load it again until the API does. */
  heldUnloaded: boolean;
}

/** Half-life of the request-rate estimate the cost-aware policy reads. */
const RATE_HALF_LIFE_MS = 30_000;

/**
 * Turns a model name (and version) into a ready model version, loading and evicting under a
 * memory budget when it has one. Names from requests are only ever looked up in the map of
 * models the repository scan found; they never become paths.
 *
 * Ordering rules, which make explicit and automatic management compose:
 * - every load and unload of one model runs after the previous one (serialize);
 * - loads of all models run one at a time (the load lane), so that the memory they need is
 *   made room for and measured one model at a time: the budget is exceeded by at most the
 *   model in flight, when its measured footprint turns out larger than its estimate;
 * - eviction takes a victim's versions away synchronously, and only from a model that is not
 *   busy (no lease, nothing queued or running, no load or unload under way, nobody waiting for
 *   its load), so no request ever holds an evicted version.
 */
export class ModelManager {
  private readonly models = new Map<string, ModelEntry>();
  /** One load or unload at a time per model, so that a load racing an unload ends in a defined state. */
  private readonly pending = new Map<string, Promise<void>>();
  /** Loads and unloads queued or under way per model: such a model is busy, never evicted. */
  private readonly ops = new Map<string, number>();
  private lane: Promise<unknown> = Promise.resolve();
  private readonly mode: ModelControlMode;
  private readonly budget: number | undefined;
  private readonly policy: EvictionPolicy;
  readonly hostCache: HostCache | undefined;
  private readonly backoff: BackoffOptions;
  private readonly probe: () => number;
  /** Bytes of versions taken out of service whose sessions are not released yet. */
  private releasingBytes = 0;
  private readonly releases = new Set<Promise<void>>();
  private readonly cacheFills = new Set<Promise<void>>();
  /** Learned from loads so far, for estimates of models never loaded. */
  private overheadPerSession = 0;
  private meanLoadMs = 0;
  private loadsSeen = 0;

  constructor(private readonly opts: ModelManagerOptions) {
    this.mode = opts.controlMode ?? 'none';
    this.budget = opts.memoryBudgetBytes;
    this.policy = evictionPolicy(opts.evictionPolicy ?? 'lru');
    this.hostCache = opts.hostCacheBytes ? new HostCache(opts.hostCacheBytes) : undefined;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.probe = opts.memoryProbe ?? (() => process.memoryUsage.rss());
  }

  get controlMode(): ModelControlMode {
    return this.mode;
  }

  /**
   * Scans the repository. In `none` mode loads every model (one model's failure does not stop
   * the others; under a budget, models that do not fit stay unloaded); otherwise loads the
   * pinned ones and lists the rest as not loaded.
   */
  async loadAll(): Promise<void> {
    const found = await scanRepository(this.opts.repository);
    for (const m of found) {
      const entry = this.entryFor(m);
      if (m.error) this.swap(entry, [], 'UNAVAILABLE', m.error);
      else if (entry.versions.length === 0) this.swap(entry, [], 'UNAVAILABLE', 'not loaded');
    }
    const now = found.filter((m) => !m.error && (this.mode === 'none' || isPinned(m)));
    await Promise.all(now.map((m) => this.serialize(m.name, () => this.loadFrom(m, 'startup', this.mode !== 'none')).catch(() => undefined)));
  }

  /** Loads or reloads one model, re-reading it from the repository; back-off does not apply. */
  async load(name: string): Promise<void> {
    await this.serialize(name, async () => {
      const m = (await scanRepository(this.opts.repository)).find((x) => x.name === name);
      if (!m) throw notFound(`model '${name}' is not in the model repository`);
      // The operator may have replaced the files: cached bytes of the old ones must not come back.
      for (const v of m.versions) this.hostCache?.delete(v.modelFile);
      const entry = this.entryFor(m);
      entry.heldUnloaded = false;
      entry.failure = undefined;
      entry.maxFootprintBytes = 0;
      await this.loadFrom(m, 'explicit', true);
    });
    const entry = this.models.get(name);
    if (entry?.state !== 'READY') throw unavailable(`failed to load '${name}': ${entry?.reason ?? 'unknown reason'}`);
  }

  /** Unloads a model: new requests are refused at once, queued and running ones finish first. */
  async unload(name: string): Promise<void> {
    if (!this.models.has(name)) throw notFound(`unknown model '${name}'`);
    await this.serialize(name, async () => {
      const entry = this.models.get(name);
      if (!entry) return;
      entry.heldUnloaded = true;
      const old = entry.versions;
      this.swap(entry, [], 'UNLOADING', '');
      this.cacheFiles(old);
      await this.releaseTracked(old);
      entry.state = 'UNAVAILABLE';
      entry.reason = 'unloaded';
      this.opts.onStateChange?.(name, 'UNAVAILABLE');
    });
  }

  async unloadAll(): Promise<void> {
    await Promise.all([...this.models.keys()].map((n) => this.unload(n).catch(() => undefined)));
  }

  /**
   * The version to run a request on, held for the request (give it back with `release` once the
   * request is answered). Synchronous when the model is ready; in on-demand mode a model that is
   * not loaded is loaded first, if the request can wait for it: `waitMs` says how long it may.
   */
  acquire(name: string, version?: string, waitMs?: () => number | undefined): ModelVersion | Promise<ModelVersion> {
    const entry = this.models.get(name);
    if (!entry) throw notFound(`unknown model '${name}'`);
    if (entry.state === 'READY') {
      const v = this.pick(entry, version);
      this.take(entry, v);
      return v;
    }
    this.checkListed(entry, version);
    if (!this.loadsOnDemand(entry)) throw notReady(entry);
    // Back-off and deadline refusals are thrown here, synchronously: no load, no wait.
    const joined = entry.loading !== undefined;
    const load = this.loadOnDemand(entry, waitMs?.() ?? defaultWaitMs(entry));
    this.opts.events?.missed?.({ model: name, joined });
    return this.acquireAfterLoad(entry, version, load);
  }

  /** Gives back a version `acquire` handed out. */
  release(v: ModelVersion): void {
    v.leases.drop();
  }

  /** The version to run a request on, without holding it (statistics, readiness). */
  resolve(name: string, version?: string): ModelVersion {
    const entry = this.models.get(name);
    if (!entry) throw notFound(`unknown model '${name}'`);
    this.checkListed(entry, version);
    if (entry.state !== 'READY') throw notReady(entry);
    return this.pick(entry, version);
  }

  /**
   * A model's config for metadata, loaded or not: the loaded version's; after an eviction, the
   * one completed at its last load; never loaded, the config file's when it declares every
   * input and output. Metadata never loads a model: it must not evict models that serve.
   */
  configOf(name: string, version?: string): ModelConfig {
    const entry = this.models.get(name);
    if (!entry) throw notFound(`unknown model '${name}'`);
    this.checkListed(entry, version);
    if (entry.state === 'READY') return this.pick(entry, version).config;
    const known = entry.lastConfig ?? (entry.source?.config && declaredConfig(entry.source.config));
    if (known && !entry.source?.error) return known;
    throw unavailable(`model '${name}' is not loaded and its config does not declare every input and output, so its metadata is known only once it is loaded (send it an inference request or load it through the repository API)`);
  }

  /** Like resolve, but says false instead of throwing for a known model that cannot serve. */
  isReady(name: string, version?: string): boolean {
    try {
      this.resolve(name, version);
      return true;
    } catch (e) {
      if (e instanceof ShoalError && e.kind === 'not_found') throw e;
      return false;
    }
  }

  /** Versions the repository lists for a model, highest first. */
  listedVersions(name: string): string[] {
    const entry = this.models.get(name);
    if (!entry) throw notFound(`unknown model '${name}'`);
    return entry.listed;
  }

  index(): RepositoryEntry[] {
    const rows: RepositoryEntry[] = [];
    for (const e of [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.versions.length === 0) rows.push({ name: e.name, state: e.state, reason: e.reason });
      for (const v of e.versions) rows.push({ name: e.name, version: v.version, state: e.state, reason: e.reason });
    }
    return rows;
  }

  loaded(): ModelVersion[] {
    return [...this.models.values()].flatMap((e) => e.versions);
  }

  /** Memory as the budget counts it. */
  memory(): { budgetBytes: number | undefined; residentBytes: number; releasingBytes: number; models: number; hostCacheBytes: number } {
    let resident = 0;
    let models = 0;
    for (const e of this.models.values()) {
      if (e.versions.length === 0) continue;
      models++;
      for (const v of e.versions) resident += v.footprintBytes;
    }
    return { budgetBytes: this.budget, residentBytes: resident, releasingBytes: this.releasingBytes, models, hostCacheBytes: this.hostCache?.bytes ?? 0 };
  }

  /** The resident models as the eviction policy sees them. */
  residentModels(now = this.opts.clock.now()): ResidentModel[] {
    const out: ResidentModel[] = [];
    for (const e of this.models.values()) {
      if (e.versions.length === 0) continue;
      out.push({
        name: e.name,
        footprintBytes: e.versions.reduce((n, v) => n + v.footprintBytes, 0),
        lastUsedAt: e.lastUsedAt,
        loadMs: e.loadMs,
        recentRate: e.rate.rate(now),
        busy: this.isBusy(e),
        pinned: e.source ? isPinned(e.source) : false,
      });
    }
    return out;
  }

  /** Resolves once the host cache has taken the files of every model evicted so far. */
  async settled(): Promise<void> {
    while (this.cacheFills.size > 0) await Promise.all(this.cacheFills);
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  private pick(entry: ModelEntry, version: string | undefined): ModelVersion {
    if (version === undefined) return entry.versions[0]!;
    const v = entry.versions.find((x) => x.version === version);
    if (v) return v;
    this.checkListed(entry, version);
    throw unavailable(`version '${version}' of model '${entry.name}' is not loaded`);
  }

  private checkListed(entry: ModelEntry, version: string | undefined): void {
    if (version !== undefined && !entry.listed.includes(version)) {
      throw notFound(`unknown version '${version}' of model '${entry.name}' (versions: ${entry.listed.join(', ') || 'none'})`);
    }
  }

  private take(entry: ModelEntry, v: ModelVersion): void {
    v.leases.take();
    if (this.budget === undefined) return;
    const now = this.opts.clock.now();
    entry.lastUsedAt = now;
    entry.rate.record(now);
  }

  private loadsOnDemand(entry: ModelEntry): boolean {
    return this.mode === 'on-demand' && !entry.heldUnloaded && entry.source !== undefined && !entry.source.error && entry.state !== 'UNLOADING';
  }

  private async acquireAfterLoad(entry: ModelEntry, version: string | undefined, load: Promise<void>): Promise<ModelVersion> {
    entry.waiters++;
    try {
      await load;
      // Waiters count as busy, so nothing evicts the model between the load and this line.
      if (entry.state !== 'READY') throw notReady(entry);
      const v = this.pick(entry, version);
      this.take(entry, v);
      return v;
    } finally {
      entry.waiters--;
    }
  }

  /** The load this request waits for: the one under way, or a new one if back-off and the request's deadline allow. */
  private loadOnDemand(entry: ModelEntry, waitMs: number): Promise<void> {
    const now = this.opts.clock.now();
    const expected = entry.loadMs || this.meanLoadMs;
    if (entry.loading) {
      if (!canWaitForLoad(expected, waitMs, now, entry.loading.startedAt)) throw loadingRefusal(entry.name, expected - (now - entry.loading.startedAt), waitMs);
      return entry.loading.promise;
    }
    const backoff = backoffRemainingMs(entry.failure, now, this.backoff);
    if (backoff > 0) {
      throw new ShoalError('unavailable', `model '${entry.name}' failed to load (${entry.failure!.reason}); it is tried again in ${Math.ceil(backoff / 1000)} s`, Math.ceil(backoff / 1000), 'load_backoff');
    }
    if (!canWaitForLoad(expected, waitMs, now)) throw loadingRefusal(entry.name, expected, waitMs);
    const source = entry.source!;
    // A load queued behind another one (a startup or explicit load) may find the model ready.
    const promise = this.serialize(entry.name, () => (entry.state === 'READY' ? Promise.resolve() : this.loadFrom(source, 'on-demand', true))).then(() => {
      if (entry.state !== 'READY') throw unavailable(`model '${entry.name}' could not be loaded: ${entry.reason}`);
    });
    entry.loading = { promise, startedAt: now };
    const clear = () => {
      if (entry.loading?.promise === promise) entry.loading = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  // ---------------------------------------------------------------------------------------------
  // Loading, measuring, evicting

  private entryFor(m: RepositoryModel): ModelEntry {
    const listed = m.versions.map((v) => v.version).sort((a, b) => Number(b) - Number(a));
    let entry = this.models.get(m.name);
    if (!entry) {
      entry = {
        name: m.name, state: 'UNAVAILABLE', reason: '', versions: [], listed, waiters: 0, maxFootprintBytes: 0, loadMs: 0,
        lastUsedAt: this.opts.clock.now(), rate: new RateMeter(RATE_HALF_LIFE_MS), heldUnloaded: false,
      };
      this.models.set(m.name, entry);
    }
    entry.listed = listed;
    entry.source = m;
    return entry;
  }

  /** Run `fn` after any load or unload of the same model already under way. */
  private serialize(name: string, fn: () => Promise<void>): Promise<void> {
    this.ops.set(name, (this.ops.get(name) ?? 0) + 1);
    const before = this.pending.get(name) ?? Promise.resolve();
    const next = before.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.pending.set(name, settled);
    void settled.then(() => {
      const left = (this.ops.get(name) ?? 1) - 1;
      if (left > 0) this.ops.set(name, left);
      else this.ops.delete(name);
      if (this.pending.get(name) === settled) this.pending.delete(name);
    });
    return next;
  }

  /** Runs `fn` after every other model's load: loads make room and are measured one at a time. */
  private inLane<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lane.then(fn, fn);
    this.lane = next.catch(() => undefined);
    return next;
  }

  private isBusy(e: ModelEntry): boolean {
    if (e.waiters > 0 || (this.ops.get(e.name) ?? 0) > 0) return true;
    return e.versions.some((v) => v.leases.count > 0 || v.scheduler.inFlight > 0);
  }

  /** `evict`: whether to make room by evicting others; at start in `none` mode, models that do not fit stay out instead. */
  private async loadFrom(m: RepositoryModel, cause: LoadCause, evict: boolean): Promise<void> {
    const entry = this.entryFor(m);
    if (m.error) {
      await this.swap(entry, [], 'UNAVAILABLE', m.error);
      return;
    }
    if (entry.versions.length === 0) this.swap(entry, [], 'LOADING', '');
    let swapped: { released: Promise<void> };
    try {
      swapped = await this.inLane(() => this.loadMeasured(m, entry, cause, evict));
    } catch (e) {
      const reason = (e as Error).message;
      // Want of room is the moment's, not the model's: it does not start a back-off.
      if (cause !== 'explicit' && (e as ShoalError).reason !== 'memory_full') entry.failure = recordFailure(entry.failure, this.opts.clock.now(), reason);
      await this.swap(entry, entry.versions, entry.versions.length > 0 ? 'READY' : 'UNAVAILABLE', reason);
      this.opts.events?.loadFailed?.({ model: m.name, cause, reason });
      return;
    }
    // Outside the lane: the versions it replaced may have requests to finish first.
    await swapped.released;
  }

  /** In the lane: make room, load every version, warm up, measure. Returns the release of the versions it replaced (boxed, or awaiting this would wait for it). */
  private async loadMeasured(m: RepositoryModel, entry: ModelEntry, cause: LoadCause, evict: boolean): Promise<{ released: Promise<void> }> {
    const sessionsPer = Math.max(1, (m.config ?? defaultPartialConfig(m.name)).instance_group.reduce((n, g) => n + g.count, 0));
    const cached = new Map<string, Uint8Array>();
    for (const v of m.versions) {
      const bytes = this.hostCache?.take(v.modelFile);
      if (bytes) cached.set(v.modelFile, bytes);
    }
    const fromHostCache = cached.size === m.versions.length;
    const fileBytes = await filesSize(m, cached);
    if (this.budget !== undefined) {
      const estimate = entry.maxFootprintBytes || (fileBytes + this.overheadPerSession * m.versions.length) * sessionsPer;
      await this.makeRoom(entry, estimate, evict);
    }
    const started = this.opts.clock.now();
    const rssBefore = this.probe();
    const loaded: ModelVersion[] = [];
    try {
      for (const v of m.versions) loaded.push(await this.loadVersion(m, v.version, v.modelFile, cached.get(v.modelFile)));
      for (const v of loaded) await runWarmup(v.sessions, v.config, warmupSamples(v.config));
      const floor = fileBytes * sessionsPer + this.overheadPerSession * m.versions.length * sessionsPer;
      const footprint = this.measureFootprint(loaded, rssBefore, floor, entry);
      if (this.budget !== undefined) {
        if (footprint > this.budget) throw unavailable(`model '${m.name}' needs ${mib(footprint)} when loaded, more than the whole memory budget (${mib(this.budget)})`);
        // The estimate may have been short: make the rest of the room now, or stay over by this one model.
        await this.makeRoom(entry, footprint, evict, true);
      }
      const ms = this.opts.clock.now() - started;
      this.learn(entry, ms, footprint, fileBytes * sessionsPer, m.versions.length * sessionsPer);
      loaded.sort((a, b) => Number(b.version) - Number(a.version));
      entry.failure = undefined;
      entry.lastConfig = loaded[0]!.config;
      entry.lastUsedAt = this.opts.clock.now();
      this.opts.events?.loaded?.({ model: m.name, cause, ms, footprintBytes: footprint, fromHostCache });
      return { released: this.swap(entry, loaded, 'READY', '') };
    } catch (e) {
      await this.releaseTracked(loaded);
      // The bytes were taken from the cache for this load; a failed load gives them back.
      for (const [file, bytes] of cached) this.hostCache?.put(file, bytes);
      throw e;
    }
  }

  /**
   * The footprint the budget counts: the larger of the backend's per-session figures and the
   * process's resident-memory growth across the whole load and warm-up. The backend measures
   * around session creation (worker thread, onnxruntime's copy of the weights, pre-packing);
   * the span here adds what warm-up makes onnxruntime allocate (arena blocks for the first
   * runs). Honest enough to budget by: it counts what the process really took, with the
   * model's file size as a floor. What it misses: memory a model grows into later (larger
   * batches grow the arena; small models' inline session appears on first use), and a load that
   * reuses pages freed by an eviction measures low (the allocator keeps them). Against that, the
   * largest figure measured for the same files is kept, and the floor is the file size plus the
   * mean per-session overhead (worker thread, runtime) measured over earlier loads. Other threads
   * allocating meanwhile add noise both ways.
   */
  private measureFootprint(loaded: readonly ModelVersion[], rssBefore: number, floorBytes: number, entry: ModelEntry): number {
    const backend = loaded.reduce((n, v) => n + v.footprintBytes, 0);
    const grown = this.probe() - rssBefore;
    const footprint = Math.max(backend, grown, floorBytes, entry.maxFootprintBytes);
    entry.maxFootprintBytes = footprint;
    // Shared out by the backend's figures, so that each version's field sums to the model's.
    for (const v of loaded) v.footprintBytes = backend > 0 ? Math.round((footprint * v.footprintBytes) / backend) : Math.round(footprint / loaded.length);
    return footprint;
  }

  private learn(entry: ModelEntry, ms: number, footprint: number, fileBytes: number, sessions: number): void {
    entry.loadMs = ms;
    this.loadsSeen++;
    this.meanLoadMs += (ms - this.meanLoadMs) / this.loadsSeen;
    const overhead = Math.max(0, (footprint - fileBytes) / sessions);
    this.overheadPerSession += (overhead - this.overheadPerSession) / this.loadsSeen;
  }

  /**
   * Evicts idle models until `needBytes` more fit under the budget (the model being loaded
   * counted apart when `already`: its new versions are not resident yet, its old ones are).
   * Waits for releases under way when only they stand in the way.
   */
  private async makeRoom(entry: ModelEntry, needBytes: number, evict: boolean, after = false): Promise<void> {
    const budget = this.budget!;
    for (;;) {
      const now = this.opts.clock.now();
      const resident = this.residentModels(now).map((r) => (r.name === entry.name ? { ...r, busy: true } : r));
      const victims = this.policy.chooseVictims(resident, needBytes + this.releasingBytes, budget, now);
      if (victims === undefined) {
        if (this.releases.size > 0) {
          await Promise.all(this.releases);
          continue;
        }
        if (after) return; // over by this one model until a later load makes room
        const held = resident.filter((r) => r.busy || r.pinned).reduce((n, r) => n + r.footprintBytes, 0);
        throw new ShoalError('unavailable', `not enough memory for model '${entry.name}': it needs about ${mib(needBytes)}, and ${mib(held)} of the ${mib(budget)} budget is held by models that are busy or pinned`, 1, 'memory_full');
      }
      if (victims.length === 0) return;
      if (!evict) {
        if (after) return;
        throw unavailable(`model '${entry.name}' does not fit in the memory budget (${mib(budget)}) beside the models loaded before it`);
      }
      await this.evict(victims, entry.name);
      return;
    }
  }

  private async evict(names: readonly string[], forModel: string): Promise<void> {
    const released: Promise<void>[] = [];
    for (const name of names) {
      const victim = this.models.get(name);
      // The policy saw a snapshot taken in this same turn; checked again all the same.
      if (!victim || victim.state !== 'READY' || this.isBusy(victim)) continue;
      const old = victim.versions;
      const bytes = old.reduce((n, v) => n + v.footprintBytes, 0);
      released.push(this.swap(victim, [], 'UNAVAILABLE', `not loaded (evicted to make room for '${forModel}')`));
      this.cacheFiles(old);
      this.opts.events?.evicted?.({ model: name, footprintBytes: bytes, forModel });
    }
    await Promise.all(released);
  }

  /** Swap in new versions (synchronously); the old ones finish what they hold, then go: the promise says when. */
  private swap(entry: ModelEntry, versions: ModelVersion[], state: ModelState, reason: string): Promise<void> {
    const old = entry.versions.filter((v) => !versions.includes(v));
    entry.versions = versions;
    entry.state = state;
    entry.reason = reason;
    this.opts.onStateChange?.(entry.name, state);
    return this.releaseTracked(old);
  }

  /** Releases versions, counting their bytes as held until they are gone. */
  private releaseTracked(versions: readonly ModelVersion[]): Promise<void> {
    if (versions.length === 0) return Promise.resolve();
    const bytes = versions.reduce((n, v) => n + v.footprintBytes, 0);
    this.releasingBytes += bytes;
    const done = release(versions).finally(() => {
      this.releasingBytes -= bytes;
      this.releases.delete(done);
    });
    this.releases.add(done);
    return done;
  }

  /** Reads an evicted or unloaded model's files into the host cache, off the load lane. */
  private cacheFiles(versions: readonly ModelVersion[]): void {
    const cache = this.hostCache;
    if (!cache) return;
    for (const v of versions) {
      const fill: Promise<void> = readFile(v.modelFile).then(
        (b) => void cache.put(v.modelFile, new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
        () => undefined,
      ).finally(() => this.cacheFills.delete(fill));
      this.cacheFills.add(fill);
    }
  }

  private async loadVersion(m: RepositoryModel, version: string, modelFile: string, bytes?: Uint8Array): Promise<ModelVersion> {
    const partial = m.config ?? defaultPartialConfig(m.name);
    const count = Math.max(1, partial.instance_group.reduce((n, g) => n + g.count, 0));
    const cores = this.opts.cores ?? os.availableParallelism();
    const opt = partial.optimization;
    const spec = {
      path: modelFile,
      ...(bytes && { bytes }),
      // instances × intra-op threads should not exceed the cores, or they fight over them.
      intraOpThreads: opt.intra_op_thread_count || Math.max(1, Math.floor(cores / count)),
      interOpThreads: opt.inter_op_thread_count || 1,
      graphOptimizationLevel: opt.graph_level,
      executionMode: opt.execution_mode,
    } as const;
    const sessions: BackendSession[] = [];
    try {
      for (let i = 0; i < count; i++) sessions.push(await this.opts.backend.load(spec));
      const first = sessions[0]!;
      const file = m.configFile ?? modelFile;
      // State and constant inputs of a sequence model are the server's, not the client's.
      const config = completeConfig(partial, clientTensors(partial, { inputs: first.inputs, outputs: first.outputs }, file), file);
      const stats = new VersionStats(m.name, version);
      const onBatch = (rows: number, ms: number) => stats.batch(rows, ms);
      const scheduler: Scheduler = config.sequence_batching
        ? sequenceSchedulerOf(config, sessions, { clock: this.opts.clock, maxQueueSize: this.opts.maxQueueSize, onBatch })
        : new ModelScheduler(sessions, {
          outputNames: config.output.map((o) => o.name),
          batching: batchingConfigOf(config),
          rules: queueRulesOf(config, this.opts.maxQueueSize),
          profile: new LatencyProfile(),
          clock: this.opts.clock,
          onBatch,
          padding: paddingOf(config),
        });
      return {
        name: m.name, version, config, scheduler, sessions, stats, modelFile, leases: new Leases(),
        footprintBytes: sessions.reduce((n, s) => n + s.footprintBytes, 0),
      };
    } catch (e) {
      await Promise.all(sessions.map((s) => s.unload().catch(() => undefined)));
      throw e;
    }
  }
}

/** Waits for every request holding the versions, then unloads their sessions. */
async function release(versions: readonly ModelVersion[]): Promise<void> {
  await Promise.all(
    versions.map(async (v) => {
      await v.leases.whenNone();
      await v.scheduler.whenIdle();
      await Promise.all(v.sessions.map((s) => s.unload().catch(() => undefined)));
    }),
  );
}

function isPinned(m: RepositoryModel): boolean {
  return m.config?.model_management?.pinned === true;
}

function notReady(entry: ModelEntry): ShoalError {
  return unavailable(`model '${entry.name}' is ${entry.state.toLowerCase()}${entry.reason ? `: ${entry.reason}` : ''}`);
}

function loadingRefusal(name: string, expectedMs: number, waitMs: number): ShoalError {
  return new ShoalError(
    'unavailable',
    `model '${name}' is loading: it needs about ${Math.ceil(expectedMs)} ms more, and the request may wait only ${Math.max(0, Math.floor(waitMs))} ms`,
    Math.max(1, Math.ceil(expectedMs / 1000)),
    'loading',
  );
}

/** Without a deadline or timeout on the request, the config's SLO bounds the wait; with neither, it is unbounded. */
function defaultWaitMs(entry: ModelEntry): number {
  const slo = entry.source?.config?.slo?.default_deadline_microseconds ?? 0;
  return slo > 0 ? slo / 1000 : Infinity;
}

/** The config as a ModelConfig when the file alone says everything metadata needs. */
function declaredConfig(p: PartialConfig): ModelConfig | undefined {
  if (p.max_batch_size === undefined || p.input.length === 0 || p.output.length === 0) return undefined;
  const full = (t: PartialConfig['input'][number]): t is TensorConfig => t.data_type !== undefined && t.dims !== undefined;
  if (!p.input.every(full) || !p.output.every(full)) return undefined;
  return { ...p, max_batch_size: p.max_batch_size, input: p.input, output: p.output };
}

async function filesSize(m: RepositoryModel, cached: ReadonlyMap<string, Uint8Array>): Promise<number> {
  const sizes = await Promise.all(m.versions.map(async (v) => cached.get(v.modelFile)?.byteLength ?? (await stat(v.modelFile).catch(() => undefined))?.size ?? 0));
  return sizes.reduce((a, b) => a + b, 0);
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
