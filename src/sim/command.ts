/**
 * `shoal simulate` and `shoal profile`: flags to options. The simulator and the measuring
 * code are imported only when a command runs, so `shoal serve` does not load them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkWorkloadSpec, parseWorkloadSpec, specWorkload, type WorkloadSpec } from '../bench/workload-file.js';
import { parseTrace, type Workload } from '../bench/workload.js';
import { EVICTION_POLICIES, type EvictionPolicyName } from '../models/eviction.js';
import { ROUTERS, type RouterName } from '../routing/router.js';

const num = (name: string, min: number, integer = false) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`${name} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min}`);
  return n;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];
const list = (name: string) => (v: string): number[] => v.split(',').map((x) => num(name, 1, true)(x.trim()));

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };
function size(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`'${value}' is not a size (examples: 1048576, 512KiB, 64MiB, 1GiB)`);
  return Math.floor(Number(m[1]) * unit);
}

interface SimulateFlags {
  profile: string; workload?: string;
  model: string[]; rate?: number; arrival?: 'poisson' | 'gamma' | 'constant'; cv?: number; zipf?: number; trace?: string;
  diurnal?: string; duration?: number; warmup?: number; sloMs?: number; seed?: number;
  nodes: number; router: RouterName; memoryBudget?: number; evictionPolicy: EvictionPolicyName; networkDelayMs: number;
  variation: boolean; timeoutMs: number; json?: string; html?: string; quiet?: boolean;
}

const LOAD_FLAGS = ['model', 'rate', 'arrival', 'cv', 'zipf', 'trace', 'diurnal', 'duration', 'warmup', 'sloMs'] as const;

/** The workload from --workload FILE, or from the load flags (the same names as `shoal bench`'s). */
async function workloadOf(f: SimulateFlags, cmd: Command): Promise<{ spec: WorkloadSpec; workload: Workload }> {
  if (f.workload) {
    const given = LOAD_FLAGS.filter((k) => cmd.getOptionValueSource(k) === 'cli');
    if (given.length) throw new Error(`--workload ${f.workload} describes the load; drop ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
    const spec = parseWorkloadSpec(await readFile(f.workload, 'utf8'), f.workload);
    const trace = spec.trace ? parseTrace(await readFile(path.resolve(path.dirname(f.workload), spec.trace), 'utf8')) : undefined;
    return { spec, workload: specWorkload(spec, trace) };
  }
  const diurnal = f.diurnal?.split(',').map(Number);
  if (diurnal && (diurnal.length < 2 || diurnal.some((x) => !Number.isFinite(x)))) throw new Error(`--diurnal '${f.diurnal}': expected PERIOD_S,AMPLITUDE[,PEAK_AT_S]`);
  const spec = checkWorkloadSpec({
    ...(f.model.length ? { models: f.model } : {}), rate: f.rate, arrival: f.arrival, cv: f.cv, zipf: f.zipf, trace: f.trace,
    ...(diurnal ? { diurnal: { periodS: diurnal[0], amplitude: diurnal[1], ...(diurnal[2] !== undefined ? { peakAtS: diurnal[2] } : {}) } } : {}),
    duration: f.duration, warmup: f.warmup, sloMs: f.sloMs,
  }, 'the flags');
  const trace = spec.trace ? parseTrace(await readFile(spec.trace, 'utf8')) : undefined;
  return { spec, workload: specWorkload(spec, trace) };
}

export function simulateCommand(): Command {
  return new Command('simulate')
    .description('simulate a cluster running shoal\'s own scheduling, routing and eviction policies on a cost model, and report it as shoal bench reports a real run')
    .requiredOption('--profile <file>', 'the cost model: a profile file from `shoal profile`, or written by hand (docs/simulator.md)')
    .option('--workload <file>', 'the load as a YAML/JSON file, the same one `shoal bench --workload` plays against a real server')
    .option('--model <name>', 'model to send requests to; repeat for several', collect, [])
    .option('--rate <perSecond>', 'open loop: requests per second', num('--rate', Number.MIN_VALUE))
    .addOption(new Option('--arrival <process>', 'open-loop arrivals').choices(['poisson', 'gamma', 'constant']))
    .option('--cv <x>', 'coefficient of variation of gamma interarrivals; implies --arrival gamma', num('--cv', Number.MIN_VALUE))
    .option('--zipf <s>', 'model popularity Zipf(s) in the order the models are given', num('--zipf', 0))
    .option('--trace <file>', 'replay a CSV trace: timestamp_ms,model[,deadline_ms]')
    .option('--diurnal <period,amplitude[,peak]>', 'scale the rate by 1 + amplitude·cos(2π(t − peak)/period), seconds')
    .option('--duration <s>', 'measured seconds (default 10)', num('--duration', Number.MIN_VALUE))
    .option('--warmup <s>', 'seconds simulated first and left out of the figures (default 1)', num('--warmup', 0))
    .option('--slo-ms <ms>', 'latency objective: goodput counts answers within it', num('--slo-ms', Number.MIN_VALUE))
    .option('--seed <n>', 'seed for arrivals, routing and service times (default: the workload file\'s, or 1)', num('--seed', 0, true))
    .option('--nodes <n>', 'nodes in the cluster', num('--nodes', 1, true), 1)
    .addOption(new Option('--router <name>', 'routing policy in front of the nodes').choices(ROUTERS).default('least-outstanding'))
    .option('--memory-budget <size>', 'memory per node for loaded models (e.g. 2GiB); absent: every model stays loaded everywhere', size)
    .addOption(new Option('--eviction-policy <name>', 'which idle models make room under --memory-budget').choices(EVICTION_POLICIES).default('lru'))
    .option('--network-delay-ms <ms>', 'one-way delay between the clients and a node', num('--network-delay-ms', 0), 0)
    .option('--no-variation', 'every batch takes the profile\'s median, instead of a draw from its measured spread')
    .option('--timeout-ms <ms>', 'a client gives up after this long (counted as a timeout error, as bench does)', num('--timeout-ms', 1), 30_000)
    .option('--json <file>', 'write the full report as JSON (the shape of shoal bench\'s, plus a simulation section)')
    .option('--html <file>', 'write a self-contained HTML report with plots')
    .option('--quiet', 'no progress lines on stderr')
    .addHelpText('after', `
Examples:
  shoal profile --model-repository models --models mlp,cnn --out profile.json
  shoal simulate --profile profile.json --model mlp --model cnn --rate 200 --duration 30
  shoal simulate --profile profile.json --workload workload.yaml --nodes 100 --router power-of-two --html sim.html
  shoal simulate --profile examples/profiles/accelerator.yaml --model resnet50 --model bert --zipf 1.1 --rate 20000 \\
    --nodes 64 --router model-affinity --memory-budget 16GiB --eviction-policy cost-aware --diurnal 60,0.6`)
    .action(async (f: SimulateFlags, cmd: Command) => {
      const { runSimulation } = await import('./run.js');
      const { simConsoleReport, simHtmlReport } = await import('./report.js');
      const { parseProfile } = await import('./cost-model.js');
      const { spec, workload } = await workloadOf(f, cmd);
      const profile = parseProfile(await readFile(f.profile, 'utf8'), f.profile);
      const say = f.quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
      const report = runSimulation({
        profile, profileFile: f.profile, spec, workload, seed: f.seed ?? spec.seed,
        nodes: f.nodes, router: f.router, memoryBudgetBytes: f.memoryBudget, evictionPolicy: f.evictionPolicy,
        networkDelayMs: f.networkDelayMs, variation: f.variation, timeoutMs: f.timeoutMs, progress: say,
      }, `shoal simulate ${process.argv.slice(3).join(' ')}`);
      console.log(simConsoleReport(report));
      if (f.json) await writeFile(f.json, JSON.stringify(report, null, 2) + '\n');
      if (f.html) await writeFile(f.html, simHtmlReport(report));
    });
}

interface ProfileFlags {
  modelRepository: string; models?: string; batchSizes?: number[]; runs: number; warmupRuns: number; idleGaps: number[] | false; contendedRuns: number; dim: number; seed: number; out: string; quiet?: boolean;
}

export function profileCommand(): Command {
  return new Command('profile')
    .description('measure a cost-model profile of a model repository on this machine (batch latencies, load time, footprint) for `shoal simulate`')
    .requiredOption('--model-repository <dir>', 'the model repository')
    .option('--models <a,b>', 'models to measure (default: every model that loads)')
    .option('--batch-sizes <list>', 'batch sizes to time (default 1, 2, 4, … up to each model\'s max_batch_size)', list('--batch-sizes'))
    .option('--runs <n>', 'timed runs per batch size', num('--runs', 1, true), 50)
    .option('--warmup-runs <n>', 'untimed runs first', num('--warmup-runs', 0, true), 10)
    .option('--idle-gaps <ms,…>', 'idle times (ms) after which one-row runs are timed too: what waking an idle instance costs', list('--idle-gaps'), [1, 2, 5, 20])
    .option('--no-idle-gaps', 'time back-to-back runs only')
    .option('--contended-runs <n>', 'one-row runs timed while another process keeps a core busy (0: none): how a batch slows beside the event loop', num('--contended-runs', 0, true), 0)
    .option('--dim <n>', 'size for dynamic dimensions other than the batch', num('--dim', 1, true), 16)
    .option('--seed <n>', 'seed for the random inputs', num('--seed', 0, true), 1)
    .requiredOption('--out <file>', 'where to write the profile (JSON)')
    .option('--quiet', 'no progress lines on stderr')
    .action(async (f: ProfileFlags) => {
      const { measureProfile } = await import('./measure.js');
      const profile = await measureProfile({
        repository: f.modelRepository, ...(f.models ? { models: f.models.split(',').map((m) => m.trim()).filter(Boolean) } : {}),
        ...(f.batchSizes ? { batchSizes: f.batchSizes } : {}), runs: f.runs, warmupRuns: f.warmupRuns, idleGapsMs: f.idleGaps || [], contendedRuns: f.contendedRuns, dim: f.dim, seed: f.seed,
        ...(f.quiet ? {} : { progress: (line: string) => process.stderr.write(`${line}\n`) }),
      }, `shoal profile ${process.argv.slice(3).join(' ')}`);
      await writeFile(f.out, JSON.stringify(profile, null, 2) + '\n');
      console.log(`wrote ${f.out}: ${profile.models.map((m) => m.name).join(', ')}`);
    });
}
