import os from 'node:os';
import type { Backend, BackendSession } from '../backends/backend.js';
import type { Clock } from '../core/clock.js';
import type { ModelConfig } from '../core/model-config.js';
import { completeConfig } from '../repository/autocomplete.js';
import { defaultPartialConfig } from '../repository/config.js';
import type { RepositoryModel } from '../repository/repository.js';
import { ModelScheduler, type Scheduler } from '../scheduling/model-scheduler.js';
import { LatencyProfile } from '../scheduling/profile.js';
import { paddingOf } from '../scheduling/ragged.js';
import { clientTensors, sequenceSchedulerOf } from '../scheduling/sequence-config.js';
import { batchingConfigOf, queueRulesOf } from '../scheduling/rules.js';
import type { ComputeSplit } from '../scheduling/compute-split.js';
import { Leases } from './leases.js';
import { VersionStats } from './stats.js';

// One version of a repository model turned into live sessions with a scheduler in front, and
// taken apart again. Memory, ordering and warm-up are the caller's (residency.ts).

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

export interface VersionLoaderOptions {
  backend: Backend;
  clock: Clock;
  maxQueueSize: number;
  /** Cores to share among instances when a config leaves thread counts to shoal. */
  cores?: number;
}

/**
 * Creates one session per instance (from `bytes` when the host cache had them, else from the
 * file), completes the config from what the first session reports, and puts a scheduler in
 * front: a sequence scheduler when the config asks for sequence batching, else the model
 * scheduler. A failure unloads the sessions created so far.
 */
export async function loadVersion(m: RepositoryModel, version: string, modelFile: string, bytes: Uint8Array | undefined, opts: VersionLoaderOptions): Promise<ModelVersion> {
  const partial = m.config ?? defaultPartialConfig(m.name);
  const count = Math.max(1, partial.instance_group.reduce((n, g) => n + g.count, 0));
  const cores = opts.cores ?? os.availableParallelism();
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
    for (let i = 0; i < count; i++) sessions.push(await opts.backend.load(spec));
    const first = sessions[0]!;
    const file = m.configFile ?? modelFile;
    // State and constant inputs of a sequence model are the server's, not the client's.
    const config = completeConfig(partial, clientTensors(partial, { inputs: first.inputs, outputs: first.outputs }, file), file);
    const stats = new VersionStats(m.name, version);
    const onBatch = (rows: number, compute: ComputeSplit) => stats.batch(rows, compute);
    const scheduler: Scheduler = config.sequence_batching
      ? sequenceSchedulerOf(config, sessions, { clock: opts.clock, maxQueueSize: opts.maxQueueSize, onBatch })
      : new ModelScheduler(sessions, {
        outputNames: config.output.map((o) => o.name),
        batching: batchingConfigOf(config),
        rules: queueRulesOf(config, opts.maxQueueSize),
        profile: new LatencyProfile(),
        clock: opts.clock,
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

/** Waits for every request holding the versions, then unloads their sessions. */
export async function releaseVersions(versions: readonly ModelVersion[]): Promise<void> {
  await Promise.all(
    versions.map(async (v) => {
      await v.leases.whenNone();
      await v.scheduler.whenIdle();
      await Promise.all(v.sessions.map((s) => s.unload().catch(() => undefined)));
    }),
  );
}
