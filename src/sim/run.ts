/**
 * One simulated run from a profile, a workload and cluster settings to a report shaped like
 * `shoal bench`'s: the same workload object bench builds, so a seed draws the same arrivals,
 * and the same measured window (after the warm-up) and timeline bins.
 */
import { binMsFor, type BenchReport } from '../bench/runner.js';
import type { WorkloadSpec } from '../bench/workload-file.js';
import { describeWorkload, workloadArrivals, workloadDurationMs, workloadModels, type Workload } from '../bench/workload.js';
import { evictionPolicy, type EvictionPolicyName } from '../models/eviction.js';
import { router, type RouterName } from '../routing/router.js';
import type { ProfileFile } from './cost-model.js';
import { simSection, type SimReport } from './report.js';
import { simulate } from './simulate.js';

export interface RunOptions {
  profile: ProfileFile;
  profileFile: string;
  spec: WorkloadSpec;
  workload: Workload;
  seed: number;
  /**
   * Seed of the simulation's own draws (service times, wire, routing); default `seed`. The
   * arrivals stay those `seed` draws, so runs that differ only here show how far the model's
   * own randomness moves a figure for one workload (a p99 rests on a few dozen rare batches).
   */
  drawSeed?: number;
  nodes: number;
  router: RouterName;
  memoryBudgetBytes?: number | undefined;
  evictionPolicy: EvictionPolicyName;
  networkDelayMs: number;
  variation: boolean;
  timeoutMs: number;
  progress?: (line: string) => void;
}

export function runSimulation(o: RunOptions, command?: string): SimReport {
  const w = o.workload;
  if (w.kind === 'closed') throw new Error('the simulator plays open-loop and trace workloads; a closed loop needs its clients modelled (use rate or trace)');
  const startedAt = new Date().toISOString();
  const totalMs = workloadDurationMs(w);
  const warmupMs = o.spec.warmup * 1000;
  const windowEndMs = w.kind === 'trace' ? totalMs + 1 : totalMs;
  if (windowEndMs <= warmupMs) throw new Error(`the workload lasts ${(totalMs / 1000).toFixed(1)} s, no longer than the ${o.spec.warmup} s warm-up`);
  const names = new Set(o.profile.models.map((m) => m.name));
  const missing = workloadModels(w).filter((m) => !names.has(m));
  if (missing.length) throw new Error(`the workload sends to ${missing.map((m) => `'${m}'`).join(', ')}, which ${o.profileFile} does not describe (it has ${[...names].join(', ')})`);
  // Only the models the workload uses are simulated: the others would only take memory.
  const used = new Set(workloadModels(w));
  const models = o.profile.models.filter((m) => used.has(m.name));
  const label = w.kind === 'trace' ? 'trace' : `${w.process.ratePerS}/s`;
  o.progress?.(`simulating ${describeWorkload(w)} on ${o.nodes} node${o.nodes === 1 ? '' : 's'} (${o.router})`);
  const t0 = performance.now();
  const result = simulate({
    models, arrivals: workloadArrivals(w, o.seed), nodes: o.nodes, router: router(o.router), seed: o.drawSeed ?? o.seed,
    ...(o.memoryBudgetBytes !== undefined ? { memoryBudgetBytes: o.memoryBudgetBytes } : {}),
    eviction: evictionPolicy(o.evictionPolicy), node: o.profile.node, networkDelayMs: o.networkDelayMs, variation: o.variation,
    window: { startMs: warmupMs, endMs: windowEndMs }, binMs: binMsFor(totalMs, w.kind === 'open' ? w.process.ratePerS : undefined),
    ...(o.spec.sloMs !== undefined ? { sloMs: o.spec.sloMs } : {}), timeoutMs: o.timeoutMs,
  });
  const wallS = (performance.now() - t0) / 1000;
  const settings: BenchReport['settings'] = {
    mode: w.kind === 'trace' ? 'trace' : 'rate',
    ...(w.kind === 'open' ? { arrival: w.process.kind, ...(w.process.kind === 'gamma' ? { cv: w.process.cv } : {}) } : {}),
    popularity: w.kind === 'open' ? w.popularity : { kind: 'uniform' },
    seed: o.seed, durationS: o.spec.duration, warmupS: o.spec.warmup,
    ...(o.spec.sloMs !== undefined ? { sloMs: o.spec.sloMs } : {}), connections: 0, timeoutMs: o.timeoutMs,
  };
  return {
    tool: 'shoal simulate', schema: 1, startedAt, ...(command ? { command } : {}),
    target: {
      url: `simulated: ${o.nodes} node${o.nodes === 1 ? '' : 's'}, ${o.router}, profile ${o.profileFile}`, binary: false,
      models: models.map((m) => ({ name: m.name, path: '', inputs: [], requestBytes: 0 })),
    },
    settings,
    points: [{ label, ...(w.kind === 'open' ? { rate: w.process.ratePerS } : {}), workload: describeWorkload(w), stats: result.stats }],
    simulation: simSection({
      profile: o.profileFile, hardware: o.profile.hardware, nodes: o.nodes, router: o.router,
      memoryBudgetBytes: o.memoryBudgetBytes ?? null, eviction: o.evictionPolicy, networkDelayMs: o.networkDelayMs, variation: o.variation,
      instancesPerNode: models.reduce((n, m) => n + m.instances, 0),
    }, result, wallS),
  };
}
