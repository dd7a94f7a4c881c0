import { readFile, stat } from 'node:fs/promises';
import { ShoalError, unavailable } from '../core/errors.js';
import type { ModelState } from '../core/service.js';
import { defaultPartialConfig } from '../repository/config.js';
import type { RepositoryModel } from '../repository/repository.js';
import { type EvictionPolicy, type ResidentModel, evictionPolicy } from './eviction.js';
import { LoadHistory, measureFootprint } from './footprint.js';
import { HostCache } from './host-cache.js';
import type { LoadOrder } from './load-order.js';
import type { LoadCause, ModelManagerOptions } from './manager-options.js';
import { type ModelEntry, isPinned } from './model-entry.js';
import { type ModelVersion, loadVersion, releaseVersions } from './version-loader.js';
import { runWarmup, warmupSamples } from './warmup.js';

/**
 * The models in memory, under the budget when there is one: loads a model into room made for
 * it by evicting idle ones (the pure policy in eviction.ts chooses which), measures what it
 * took, swaps versions in and out, counts the bytes of versions still being released, and fills
 * the host cache with the files of models evicted or unloaded. The model manager decides when;
 * this carries it out, one load at a time (the manager's load lane).
 */
export class Residency {
  readonly budget: number | undefined;
  readonly hostCache: HostCache | undefined;
  private readonly policy: EvictionPolicy;
  private readonly probe: () => number;
  /** Bytes of versions taken out of service whose sessions are not released yet. */
  private releasingBytes = 0;
  private readonly releases = new Set<Promise<void>>();
  private readonly cacheFills = new Set<Promise<void>>();
  private readonly history = new LoadHistory();

  constructor(
    private readonly models: ReadonlyMap<string, ModelEntry>,
    private readonly order: LoadOrder,
    private readonly opts: ModelManagerOptions,
  ) {
    this.budget = opts.memoryBudgetBytes;
    this.policy = evictionPolicy(opts.evictionPolicy ?? 'lru');
    this.hostCache = opts.hostCacheBytes ? new HostCache(opts.hostCacheBytes) : undefined;
    this.probe = opts.memoryProbe ?? (() => process.memoryUsage.rss());
  }

  /** How long a load of the model should take: its last load's time, or the mean over all loads. */
  expectedLoadMs(entry: ModelEntry): number {
    return entry.loadMs || this.history.meanLoadMs;
  }

  /** In the lane: make room, load every version, warm up, measure. Returns the release of the versions it replaced (boxed, or awaiting this would wait for it). */
  async load(m: RepositoryModel, entry: ModelEntry, cause: LoadCause, evict: boolean): Promise<{ released: Promise<void> }> {
    const sessionsPer = Math.max(1, (m.config ?? defaultPartialConfig(m.name)).instance_group.reduce((n, g) => n + g.count, 0));
    const cached = new Map<string, Uint8Array>();
    for (const v of m.versions) {
      const bytes = this.hostCache?.take(v.modelFile);
      if (bytes) cached.set(v.modelFile, bytes);
    }
    const fromHostCache = cached.size === m.versions.length;
    const fileBytes = await filesSize(m, cached);
    if (this.budget !== undefined) {
      const estimate = entry.maxFootprintBytes || (fileBytes + this.history.overheadPerSession * m.versions.length) * sessionsPer;
      await this.makeRoom(entry, estimate, evict);
    }
    const started = this.opts.clock.now();
    const rssBefore = this.probe();
    const loaded: ModelVersion[] = [];
    try {
      for (const v of m.versions) loaded.push(await loadVersion(m, v.version, v.modelFile, cached.get(v.modelFile), this.opts));
      for (const v of loaded) await runWarmup(v.sessions, v.config, warmupSamples(v.config));
      const floor = fileBytes * sessionsPer + this.history.overheadPerSession * m.versions.length * sessionsPer;
      const footprint = measureFootprint(loaded, this.probe() - rssBefore, floor, entry.maxFootprintBytes);
      entry.maxFootprintBytes = footprint;
      if (this.budget !== undefined) {
        if (footprint > this.budget) throw unavailable(`model '${m.name}' needs ${mib(footprint)} when loaded, more than the whole memory budget (${mib(this.budget)})`);
        // The estimate may have been short: make the rest of the room now, or stay over by this one model.
        await this.makeRoom(entry, footprint, evict, true);
      }
      const ms = this.opts.clock.now() - started;
      entry.loadMs = ms;
      this.history.record(ms, footprint, fileBytes * sessionsPer, m.versions.length * sessionsPer);
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
   * Evicts idle models until `needBytes` more fit under the budget; the model being loaded is
   * never a candidate (its new versions are not resident yet, its old ones may still serve).
   * Waits for releases under way when only they stand in the way. `after`: called once the
   * model is loaded and measured, when being over by this one model is allowed.
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
  swap(entry: ModelEntry, versions: ModelVersion[], state: ModelState, reason: string): Promise<void> {
    const old = entry.versions.filter((v) => !versions.includes(v));
    entry.versions = versions;
    entry.state = state;
    entry.reason = reason;
    this.opts.onStateChange?.(entry.name, state);
    return this.releaseTracked(old);
  }

  /** Releases versions, counting their bytes as held until they are gone. */
  releaseTracked(versions: readonly ModelVersion[]): Promise<void> {
    if (versions.length === 0) return Promise.resolve();
    const bytes = versions.reduce((n, v) => n + v.footprintBytes, 0);
    this.releasingBytes += bytes;
    const done = releaseVersions(versions).finally(() => {
      this.releasingBytes -= bytes;
      this.releases.delete(done);
    });
    this.releases.add(done);
    return done;
  }

  /** Reads an evicted or unloaded model's files into the host cache, off the load lane. */
  cacheFiles(versions: readonly ModelVersion[]): void {
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

  /** Resolves once the host cache has taken the files of every model evicted so far. */
  async settled(): Promise<void> {
    while (this.cacheFills.size > 0) await Promise.all(this.cacheFills);
  }

  /** Busy: leased, queued or running, loading or unloading, or waited for. Never evicted. */
  isBusy(e: ModelEntry): boolean {
    if (e.waiters > 0 || this.order.busy(e.name)) return true;
    return e.versions.some((v) => v.leases.count > 0 || v.scheduler.inFlight > 0);
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
}

async function filesSize(m: RepositoryModel, cached: ReadonlyMap<string, Uint8Array>): Promise<number> {
  const sizes = await Promise.all(m.versions.map(async (v) => cached.get(v.modelFile)?.byteLength ?? (await stat(v.modelFile).catch(() => undefined))?.size ?? 0));
  return sizes.reduce((a, b) => a + b, 0);
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
