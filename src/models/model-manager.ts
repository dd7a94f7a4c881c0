import os from 'node:os';
import type { Backend, BackendSession } from '../backends/backend.js';
import type { Clock } from '../core/clock.js';
import { ShoalError, notFound, unavailable } from '../core/errors.js';
import type { ModelConfig } from '../core/model-config.js';
import type { ModelState, RepositoryEntry } from '../core/service.js';
import { completeConfig } from '../repository/autocomplete.js';
import { defaultPartialConfig } from '../repository/config.js';
import { type RepositoryModel, scanRepository } from '../repository/repository.js';
import { ModelScheduler } from '../scheduling/model-scheduler.js';
import { LatencyProfile } from '../scheduling/profile.js';
import { batchingConfigOf, queueRulesOf } from '../scheduling/rules.js';
import { VersionStats } from './stats.js';

/** A model version that is loaded: its configuration, sessions and scheduler. */
export interface ModelVersion {
  name: string;
  version: string;
  config: ModelConfig;
  scheduler: ModelScheduler;
  sessions: BackendSession[];
  stats: VersionStats;
  footprintBytes: number;
}

interface ModelEntry {
  name: string;
  state: ModelState;
  reason: string;
  /** Ready versions, highest first. */
  versions: ModelVersion[];
  /** Versions the repository lists, ready or not, for metadata. */
  listed: string[];
}

export interface ModelManagerOptions {
  repository: string;
  backend: Backend;
  clock: Clock;
  maxQueueSize: number;
  /** Cores to share among instances when a config leaves thread counts to shoal. */
  cores?: number;
  onStateChange?: (name: string, state: ModelState) => void;
}

/**
 * Turns a model name (and version) into a ready model version. Names from requests are only
 * ever looked up in the map of models the repository scan found; they never become paths.
 */
export class ModelManager {
  private readonly models = new Map<string, ModelEntry>();
  /** One load or unload at a time per model, so that a load racing an unload ends in a defined state. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly opts: ModelManagerOptions) {}

  /** Scans the repository and loads every model in it; one model's failure does not stop the others. */
  async loadAll(): Promise<void> {
    const found = await scanRepository(this.opts.repository);
    await Promise.all(found.map((m) => this.serialize(m.name, () => this.loadFrom(m))));
  }

  /** Loads or reloads one model, re-reading it from the repository. */
  async load(name: string): Promise<void> {
    await this.serialize(name, async () => {
      const m = (await scanRepository(this.opts.repository)).find((x) => x.name === name);
      if (!m) throw notFound(`model '${name}' is not in the model repository`);
      await this.loadFrom(m);
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
      entry.state = 'UNLOADING';
      this.opts.onStateChange?.(name, 'UNLOADING');
      const old = entry.versions;
      entry.versions = [];
      await release(old);
      entry.state = 'UNAVAILABLE';
      entry.reason = 'unloaded';
      this.opts.onStateChange?.(name, 'UNAVAILABLE');
    });
  }

  async unloadAll(): Promise<void> {
    await Promise.all([...this.models.keys()].map((n) => this.unload(n).catch(() => undefined)));
  }

  /** The version to run a request on. */
  resolve(name: string, version?: string): ModelVersion {
    const entry = this.models.get(name);
    if (!entry) throw notFound(`unknown model '${name}'`);
    if (version !== undefined && !entry.listed.includes(version)) {
      throw notFound(`unknown version '${version}' of model '${name}' (versions: ${entry.listed.join(', ') || 'none'})`);
    }
    if (entry.state !== 'READY') throw unavailable(`model '${name}' is ${entry.state.toLowerCase()}${entry.reason ? `: ${entry.reason}` : ''}`);
    const v = version === undefined ? entry.versions[0] : entry.versions.find((x) => x.version === version);
    if (!v) throw unavailable(`version '${version}' of model '${name}' is not loaded`);
    return v;
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

  /** Run `fn` after any load or unload of the same model already under way. */
  private serialize(name: string, fn: () => Promise<void>): Promise<void> {
    const before = this.pending.get(name) ?? Promise.resolve();
    const next = before.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.pending.set(name, settled);
    void settled.then(() => {
      if (this.pending.get(name) === settled) this.pending.delete(name);
    });
    return next;
  }

  private async loadFrom(m: RepositoryModel): Promise<void> {
    const listed = m.versions.map((v) => v.version).sort((a, b) => Number(b) - Number(a));
    const entry: ModelEntry = this.models.get(m.name) ?? { name: m.name, state: 'LOADING', reason: '', versions: [], listed };
    this.models.set(m.name, entry);
    entry.listed = listed;
    if (m.error) {
      await this.replace(entry, [], 'UNAVAILABLE', m.error);
      return;
    }
    if (entry.versions.length === 0) {
      entry.state = 'LOADING';
      this.opts.onStateChange?.(m.name, 'LOADING');
    }
    const loaded: ModelVersion[] = [];
    try {
      for (const v of m.versions) loaded.push(await this.loadVersion(m, v.version, v.modelFile));
    } catch (e) {
      await release(loaded);
      await this.replace(entry, entry.versions, entry.versions.length > 0 ? 'READY' : 'UNAVAILABLE', (e as Error).message);
      return;
    }
    loaded.sort((a, b) => Number(b.version) - Number(a.version));
    await this.replace(entry, loaded, 'READY', '');
  }

  /** Swap in new versions; the old ones finish what they hold, then go. */
  private async replace(entry: ModelEntry, versions: ModelVersion[], state: ModelState, reason: string): Promise<void> {
    const old = entry.versions.filter((v) => !versions.includes(v));
    entry.versions = versions;
    entry.state = state;
    entry.reason = reason;
    this.opts.onStateChange?.(entry.name, state);
    await release(old);
  }

  private async loadVersion(m: RepositoryModel, version: string, modelFile: string): Promise<ModelVersion> {
    const partial = m.config ?? defaultPartialConfig(m.name);
    const count = Math.max(1, partial.instance_group.reduce((n, g) => n + g.count, 0));
    const cores = this.opts.cores ?? os.availableParallelism();
    const opt = partial.optimization;
    const spec = {
      path: modelFile,
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
      const config = completeConfig(partial, { inputs: first.inputs, outputs: first.outputs }, m.configFile ?? modelFile);
      const stats = new VersionStats(m.name, version);
      const scheduler = new ModelScheduler(sessions, {
        outputNames: config.output.map((o) => o.name),
        batching: batchingConfigOf(config),
        rules: queueRulesOf(config, this.opts.maxQueueSize),
        profile: new LatencyProfile(),
        clock: this.opts.clock,
        onBatch: (rows, ms) => stats.batch(rows, ms),
      });
      return { name: m.name, version, config, scheduler, sessions, stats, footprintBytes: sessions.reduce((n, s) => n + s.footprintBytes, 0) };
    } catch (e) {
      await Promise.all(sessions.map((s) => s.unload().catch(() => undefined)));
      throw e;
    }
  }
}

async function release(versions: ModelVersion[]): Promise<void> {
  await Promise.all(
    versions.map(async (v) => {
      await v.scheduler.whenIdle();
      await Promise.all(v.sessions.map((s) => s.unload().catch(() => undefined)));
    }),
  );
}
