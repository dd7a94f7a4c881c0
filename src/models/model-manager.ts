import { ShoalError, notFound, unavailable } from '../core/errors.js';
import type { ModelConfig } from '../core/model-config.js';
import type { RepositoryEntry } from '../core/service.js';
import { type RepositoryModel, scanRepository } from '../repository/repository.js';
import type { ResidentModel } from './eviction.js';
import type { HostCache } from './host-cache.js';
import { LoadOrder } from './load-order.js';
import { type BackoffOptions, DEFAULT_BACKOFF, backoffRemainingMs, canWaitForLoad, recordFailure } from './loading.js';
import { DEFAULT_CONCURRENT_LOADS, type LoadCause, type ModelControlMode, type ModelManagerOptions } from './manager-options.js';
import { type LoadUnderWay, type ModelEntry, checkListed, declaredConfig, defaultWaitMs, isPinned, newEntry, notReady, pickVersion, waitedUntil } from './model-entry.js';
import { Patience } from './idle-wait.js';
import { Residency, RoomDeferred } from './residency.js';
import type { ModelVersion } from './version-loader.js';

export type { ModelVersion } from './version-loader.js';
export { DEFAULT_CONCURRENT_LOADS, type LoadCause, MODEL_CONTROL_MODES, type ModelControlMode, type ModelManagerEvents, type ModelManagerOptions } from './manager-options.js';

/**
 * Turns a model name (and version) into a ready model version, loading and evicting under a
 * memory budget when it has one. Names from requests are only ever looked up in the map of
 * models the repository scan found; they never become paths.
 *
 * Ordering rules, which make explicit and automatic management compose:
 * - every load and unload of one model runs after the previous one (serialize);
 * - loads of different models go through one lane: a model's first load runs alone, so that
 *   its footprint can be measured, and the budget is exceeded by at most that model, when its
 *   measured footprint turns out larger than its estimate; reloads of files already measured
 *   take that figure and run up to `maxConcurrentLoads` at once, each in room reserved for it;
 * - eviction takes a victim's versions away synchronously, and only from a model that is not
 *   busy (no lease, nothing queued or running, no load or unload under way, nobody waiting for
 *   its load), so no request ever holds an evicted version.
 *
 * Both orders are kept by `LoadOrder` (load-order.ts); making room, loading, measuring and
 * evicting are `Residency`'s (residency.ts); this class holds the models and answers requests.
 */
export class ModelManager {
  private readonly models = new Map<string, ModelEntry>();
  private readonly order: LoadOrder;
  /**
   * The footprint lookups loads make (file stats) before they enter the lane, chained in the
   * order the loads were asked for: run side by side, they finished in any order, and a later
   * load could enter the first-come-first-served lane ahead of an earlier one.
   */
  private lookups: Promise<unknown> = Promise.resolve();
  private readonly residency: Residency;
  private readonly mode: ModelControlMode;
  readonly hostCache: HostCache | undefined;
  private readonly backoff: BackoffOptions;

  constructor(private readonly opts: ModelManagerOptions) {
    this.mode = opts.controlMode ?? 'none';
    // Only a server that loads on demand gains from a spare worker waiting for the next load.
    const prepare = this.mode === 'on-demand' && opts.backend.prepare ? () => opts.backend.prepare!() : undefined;
    this.order = new LoadOrder(opts.maxConcurrentLoads ?? DEFAULT_CONCURRENT_LOADS, prepare);
    this.residency = new Residency(this.models, this.order, opts);
    this.hostCache = this.residency.hostCache;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
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
      if (m.error) this.residency.swap(entry, [], 'UNAVAILABLE', m.error);
      else if (entry.versions.length === 0) this.residency.swap(entry, [], 'UNAVAILABLE', 'not loaded');
    }
    const now = found.filter((m) => !m.error && (this.mode === 'none' || isPinned(m)));
    await Promise.all(now.map((m) => this.order.serialize(m.name, () => this.loadFrom(m, 'startup', this.mode !== 'none')).catch(() => undefined)));
    this.order.idle();
  }

  /** Loads or reloads one model, re-reading it from the repository; back-off does not apply. */
  async load(name: string): Promise<void> {
    await this.order.serialize(name, async () => {
      const m = (await scanRepository(this.opts.repository)).find((x) => x.name === name);
      if (!m) throw notFound(`model '${name}' is not in the model repository`);
      // The operator may have replaced the files: cached bytes of the old ones must not come back.
      for (const v of m.versions) this.hostCache?.delete(v.modelFile);
      const entry = this.entryFor(m);
      entry.heldUnloaded = false;
      entry.failure = undefined;
      entry.measuredBytes = 0;
      entry.measuredFiles = undefined;
      entry.loadTimes = [];
      await this.loadFrom(m, 'explicit', true);
    });
    const entry = this.models.get(name);
    if (entry?.state !== 'READY') throw unavailable(`failed to load '${name}': ${entry?.reason ?? 'unknown reason'}`);
  }

  /** Unloads a model: new requests are refused at once, queued and running ones finish first. */
  async unload(name: string): Promise<void> {
    if (!this.models.has(name)) throw notFound(`unknown model '${name}'`);
    await this.order.serialize(name, async () => {
      const entry = this.models.get(name);
      if (!entry) return;
      entry.heldUnloaded = true;
      const old = entry.versions;
      // swap starts the release (queued and running requests finish first); wait for it once.
      const released = this.residency.swap(entry, [], 'UNLOADING', '');
      this.residency.cacheFiles(old);
      await released;
      entry.state = 'UNAVAILABLE';
      entry.reason = 'unloaded';
      this.opts.onStateChange?.(name, 'UNAVAILABLE');
    });
  }

  /** Unloads every model, then ends the backend's idle worker threads (a later load starts new ones). */
  async unloadAll(): Promise<void> {
    await Promise.all([...this.models.keys()].map((n) => this.unload(n).catch(() => undefined)));
    await this.opts.backend.close?.();
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
      const v = pickVersion(entry, version);
      this.take(entry, v);
      this.opts.events?.lookedUp?.({ model: name, hit: true, joined: false });
      return v;
    }
    checkListed(entry, version);
    if (!this.loadsOnDemand(entry)) throw notReady(entry);
    // Demand counts when it arrives, loaded or not: a model's rate is what is asked of it, and its
    // waiting requests make it hot the moment it is loaded.
    if (this.residency.budget !== undefined) entry.rate.record(this.opts.clock.now());
    // Back-off and deadline refusals are thrown here, synchronously: no load, no wait.
    const joined = entry.loading !== undefined;
    const wait = waitMs?.() ?? defaultWaitMs(entry);
    const load = this.loadOnDemand(entry, wait);
    this.opts.events?.lookedUp?.({ model: name, hit: false, joined });
    return this.acquireAfterLoad(entry, version, load, wait);
  }

  /** Gives back a version `acquire` handed out. */
  release(v: ModelVersion): void {
    v.leases.drop();
    // A load may be waiting for this model to go idle to evict it (residency.ts, makeRoom).
    if (v.leases.count === 0) this.residency.noteIdle();
  }

  /** The version to run a request on, without holding it (statistics, readiness). */
  resolve(name: string, version?: string): ModelVersion {
    const entry = this.models.get(name);
    if (!entry) throw notFound(`unknown model '${name}'`);
    checkListed(entry, version);
    if (entry.state !== 'READY') throw notReady(entry);
    return pickVersion(entry, version);
  }

  /**
   * A model's config for metadata, loaded or not: the loaded version's; after an eviction, the
   * one completed at its last load; never loaded, the config file's when it declares every
   * input and output. Metadata never loads a model: it must not evict models that serve.
   */
  configOf(name: string, version?: string): ModelConfig {
    const entry = this.models.get(name);
    if (!entry) throw notFound(`unknown model '${name}'`);
    checkListed(entry, version);
    if (entry.state === 'READY') return pickVersion(entry, version).config;
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
    return this.residency.memory();
  }

  /** The resident models as the eviction policy sees them. */
  residentModels(now = this.opts.clock.now()): ResidentModel[] {
    return this.residency.residentModels(now);
  }

  /** Resolves once the host cache has taken the files of every model evicted so far. */
  settled(): Promise<void> {
    return this.residency.settled();
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  /** `arrived`: the request's demand was counted when it arrived (it waited for a load). */
  private take(entry: ModelEntry, v: ModelVersion, arrived = false): void {
    v.leases.take();
    if (this.residency.budget === undefined) return;
    const now = this.opts.clock.now();
    entry.lastUsedAt = now;
    if (!arrived) entry.rate.record(now);
  }

  private loadsOnDemand(entry: ModelEntry): boolean {
    return this.mode === 'on-demand' && !entry.heldUnloaded && entry.source !== undefined && !entry.source.error && entry.state !== 'UNLOADING';
  }

  /**
   * Waits for the load, but no longer than `waitMs`: a request whose deadline passes while its
   * model is still queued for the lane or loading is refused then, not once the load is done
   * (under overload that was seconds later, and its answer was of no use by then).
   */
  private async acquireAfterLoad(entry: ModelEntry, version: string | undefined, load: LoadUnderWay, waitMs: number): Promise<ModelVersion> {
    entry.waiters++;
    const waiter = { until: Number.isFinite(waitMs) ? this.opts.clock.now() + waitMs : Number.POSITIVE_INFINITY };
    load.waiting.add(waiter);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (Number.isFinite(waitMs)) {
        // Real time, as the requests' deadlines are kept in real time by the scheduler too.
        const expired = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(waitedOut(entry.name, waitMs)), Math.max(0, waitMs));
        });
        await Promise.race([load.promise, expired]);
      } else {
        await load.promise;
      }
      // Waiters count as busy, so nothing evicts the model between the load and this line.
      if (entry.state !== 'READY') throw notReady(entry);
      const v = pickVersion(entry, version);
      this.take(entry, v, true);
      return v;
    } finally {
      clearTimeout(timer);
      load.waiting.delete(waiter);
      entry.waiters--;
    }
  }

  /** The load this request waits for: the one under way, or a new one if back-off and the request's deadline allow. */
  private loadOnDemand(entry: ModelEntry, waitMs: number): LoadUnderWay {
    const now = this.opts.clock.now();
    const expected = this.residency.expectedLoadMs(entry);
    if (entry.loading) {
      if (!canWaitForLoad(expected, waitMs, now, entry.loading.startedAt)) throw loadingRefusal(entry.name, expected - (now - entry.loading.startedAt), waitMs);
      return entry.loading;
    }
    const backoff = backoffRemainingMs(entry.failure, now, this.backoff);
    if (backoff > 0) {
      throw new ShoalError('unavailable', `model '${entry.name}' failed to load (${entry.failure!.reason}); it is tried again in ${Math.ceil(backoff / 1000)} s`, Math.ceil(backoff / 1000), 'load_backoff');
    }
    // With the lane congested, a load that would evict models worth more than it is declined
    // (the policy's call): it would only delay the loads that are worth it and make more misses.
    if (this.residency.congested() && !this.residency.worthLoading(entry)) throw declined(entry.name);
    const fits = canWaitForLoad(expected, waitMs, now);
    const source = entry.source!;
    const load: LoadUnderWay = { promise: Promise.resolve(), startedAt: now, waiting: new Set(), keep: !fits };
    // A load queued behind another one (a startup or explicit load) may find the model ready.
    const promise = this.order.serialize(entry.name, () => (entry.state === 'READY' ? Promise.resolve() : this.loadFrom(source, 'on-demand', true, load))).then(() => {
      if (entry.state !== 'READY') throw unavailable(`model '${entry.name}' could not be loaded: ${entry.reason}`);
    });
    load.promise = promise;
    entry.loading = load;
    const clear = () => {
      if (entry.loading === load) entry.loading = undefined;
    };
    promise.then(clear, clear);
    // A request that cannot wait is refused, but the load goes on (`keep`): otherwise a model
    // that loads slower than its clients' deadlines (as loads on busy cores do) would never be
    // loaded on demand, and stay cold for ever, however popular.
    if (!fits) throw loadingRefusal(entry.name, expected, waitMs);
    return load;
  }

  /**
   * Whether an on-demand load is still worth starting: someone waits for it long enough for it
   * to finish, or it was started to go on without waiters (`keep`).
   */
  private wanted(load: LoadUnderWay, entry: ModelEntry): boolean {
    return load.keep || waitedUntil(load) - this.opts.clock.now() >= this.residency.expectedLoadMs(entry);
  }

  // ---------------------------------------------------------------------------------------------
  // Loading

  private entryFor(m: RepositoryModel): ModelEntry {
    const listed = m.versions.map((v) => v.version).sort((a, b) => Number(b) - Number(a));
    let entry = this.models.get(m.name);
    if (!entry) {
      entry = newEntry(m.name, listed, this.opts.clock.now());
      this.models.set(m.name, entry);
    }
    entry.listed = listed;
    entry.source = m;
    return entry;
  }

  /**
   * `evict`: whether to make room by evicting others; at start in `none` mode, models that do not
   * fit stay out instead. `demand`: the on-demand load this carries out, given up once nobody
   * waits for it (see wanted).
   */
  private async loadFrom(m: RepositoryModel, cause: LoadCause, evict: boolean, demand?: LoadUnderWay): Promise<void> {
    const entry = this.entryFor(m);
    if (m.error) {
      await this.residency.swap(entry, [], 'UNAVAILABLE', m.error);
      return;
    }
    if (entry.versions.length === 0) this.residency.swap(entry, [], 'LOADING', '');
    let swapped: { released: Promise<void> };
    // An on-demand load may wait, out of the lane, for a model to go idle and make room, for a while.
    const patience = new Patience(ROOM_WAIT_MS);
    try {
      const lookup = this.lookups.then(() => this.residency.knownFootprint(m, entry));
      this.lookups = lookup.catch(() => undefined);
      const known = await lookup;
      for (;;) {
        const patient = cause === 'on-demand' && !patience.over;
        try {
          swapped = await this.order.inLane(() => {
            // Checked when the lane gets to it: under overload a load may queue longer than every
            // waiter's deadline, and then its run would only delay the loads behind it.
            if (demand && !this.wanted(demand, entry)) throw new LoadAbandoned(m.name);
            return this.residency.load(m, entry, cause, evict, known, patient);
          }, known === undefined ? 'alone' : 'shared');
          break;
        } catch (e) {
          if (!(e instanceof RoomDeferred)) throw e;
          // No longer than its waiters can still use the load: past that it is given up (above).
          const leftMs = demand && !demand.keep ? waitedUntil(demand) - this.opts.clock.now() - this.residency.expectedLoadMs(entry) : Number.POSITIVE_INFINITY;
          if (leftMs <= 0) throw new LoadAbandoned(m.name);
          const bounded = Number.isFinite(leftMs) ? new Patience(leftMs) : undefined;
          try {
            await Promise.race([this.residency.nextIdle(), patience.passed, ...(bounded ? [bounded.passed] : [])]);
          } finally {
            // Woken by a model going idle (hundreds of times a second under load), not by this.
            bounded?.clear();
          }
        }
      }
    } catch (e) {
      const reason = (e as Error).message;
      // Want of room, and waiters gone, are the moment's, not the model's: no back-off.
      const transient = e instanceof LoadAbandoned || (e as ShoalError).reason === 'memory_full';
      if (cause !== 'explicit' && !transient) entry.failure = recordFailure(entry.failure, this.opts.clock.now(), reason);
      await this.residency.swap(entry, entry.versions, entry.versions.length > 0 ? 'READY' : 'UNAVAILABLE', reason);
      // A load given up was no failure of the model; its waiters have had their answers.
      if (!(e instanceof LoadAbandoned)) this.opts.events?.loadFailed?.({ model: m.name, cause, reason });
      return;
    } finally {
      patience.clear();
    }
    // Outside the lane: the versions it replaced may have requests to finish first.
    await swapped.released;
  }
}

/**
 * How long an on-demand load may wait, out of the lane, for a model to go idle when every one
 * that could make room is busy (Residency.load's `patient`), before it gives up for want of room.
 */
const ROOM_WAIT_MS = 1_000;

/** An on-demand load given up before it started, since nobody waits for it any more (see ModelManager.wanted). */
class LoadAbandoned extends Error {
  constructor(name: string) {
    super(`given up before it started: no request waiting for '${name}' could still wait for its load to finish`);
  }
}

/** The refusal of a request whose model's load the eviction policy declined (Residency.worthLoading). */
function declined(name: string): ShoalError {
  return new ShoalError(
    'unavailable',
    `model '${name}' is not loaded, and while the load lane is congested it is not loaded in place of models asked for more (eviction policy); retry later`,
    1,
    'load_declined',
  );
}

/** The refusal of a request whose wait for its model's load ran out. */
function waitedOut(name: string, waitMs: number): ShoalError {
  return new ShoalError(
    'unavailable',
    `model '${name}' was not loaded within the ${Math.max(0, Math.floor(waitMs))} ms the request could wait (its deadline or timeout); retry later`,
    1,
    'loading',
  );
}

function loadingRefusal(name: string, expectedMs: number, waitMs: number): ShoalError {
  return new ShoalError(
    'unavailable',
    `model '${name}' is loading: it needs about ${Math.ceil(expectedMs)} ms more, and the request may wait only ${Math.max(0, Math.floor(waitMs))} ms; retry once it is loaded`,
    Math.max(1, Math.ceil(expectedMs / 1000)),
    'loading',
  );
}
