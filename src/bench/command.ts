/**
 * `shoal bench`: flags to options. The measuring code is imported only when the command runs,
 * so `shoal serve` does not load it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseShapeFlag } from './shapes.js';
import { parseTrace, workloadArrivals } from './workload.js';
import { parseWorkloadSpec, specCurve, specWorkload } from './workload-file.js';
import type { BenchOptions } from './runner.js';

const num = (name: string, min: number, integer = false) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`${name} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min}`);
  return n;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];
const list = (name: string) => (v: string): number[] => v.split(',').map((x) => num(name, Number.MIN_VALUE)(x.trim()));

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `--header 'Name: value'` flags → headers, names in lower case. A name given twice is refused
 * rather than one silently winning. Messages quote names, never values (they may be API keys).
 */
export function parseHeaderFlags(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const colon = flag.indexOf(':');
    const name = (colon < 0 ? flag : flag.slice(0, colon)).trim();
    if (colon < 0 || !HEADER_NAME.test(name)) throw new Error(`--header expects 'Name: value', got a flag ${colon < 0 ? 'without a colon' : `with the name ${JSON.stringify(name.slice(0, 40))}`}`);
    const value = flag.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(value)) throw new Error(`--header ${name}: the value may not hold line breaks or NUL`);
    const key = name.toLowerCase();
    if (key in out) throw new Error(`--header ${name} is given twice`);
    out[key] = value;
  }
  return out;
}

/** The command line for the report, with every --header value left out (it may be an API key). */
export function redactedArgs(args: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--header' && i + 1 < args.length) {
      out.push(a, redactHeader(args[++i]!));
    } else if (a.startsWith('--header=')) out.push(`--header=${redactHeader(a.slice('--header='.length))}`);
    else out.push(a);
  }
  return out.join(' ');
}

const redactHeader = (flag: string): string => {
  const colon = flag.indexOf(':');
  return colon < 0 ? '…' : `'${flag.slice(0, colon).trim()}: …'`;
};

export interface RawBenchFlags {
  url: string; model: string[]; modelVersion?: string;
  rate?: number | true; concurrency?: number | true; trace?: string; sweep?: number[];
  arrival?: 'poisson' | 'gamma' | 'constant'; cv?: number; zipf?: number;
  duration: number; warmup: number; sloMs?: number; connections?: number; timeoutMs: number;
  binary?: boolean; batch: number; dim?: number; shape: string[]; inputData?: string; intRange: string;
  seed: number; json?: string; html?: string; quiet?: boolean;
  /** `Name: value`, repeatable. */
  header?: string[];
  /** Sent as each request's parameters.deadline_ms; goodput is scored against it. */
  deadlineMs?: number;
  /** A workload file (workload-file.ts) in place of the load flags. */
  workload?: string;
}

/** Checks the flags against each other and reads the files they name. */
export async function benchOptions(f: RawBenchFlags): Promise<BenchOptions> {
  const modes = [f.rate !== undefined && 'rate', f.concurrency !== undefined && 'concurrency', f.trace !== undefined && 'trace'].filter(Boolean);
  if (modes.length > 1) throw new Error(`choose one of --rate, --concurrency and --trace (got ${modes.join(', ')})`);
  const mode = (modes[0] || 'concurrency') as BenchOptions['mode'];
  if (mode === 'trace' && f.sweep) throw new Error('--sweep goes with --rate or --concurrency, not --trace');
  if (mode !== 'trace' && f.model.length === 0) throw new Error('name at least one --model');
  const given = mode === 'rate' ? f.rate : f.concurrency;
  const levels = f.sweep ?? (typeof given === 'number' ? [given] : mode === 'concurrency' && given === undefined ? [1] : []);
  if (mode !== 'trace' && levels.length === 0) throw new Error(`--${mode} needs a value, or --sweep with a list of them`);
  if (mode === 'concurrency' && levels.some((c) => !Number.isInteger(c))) throw new Error('concurrency levels must be whole numbers');
  const arrival = f.arrival ?? (f.cv !== undefined ? 'gamma' : 'poisson');
  if (f.cv !== undefined && arrival !== 'gamma') throw new Error('--cv shapes gamma arrivals; it does not go with --arrival ' + arrival);
  if (f.deadlineMs !== undefined && mode === 'trace') throw new Error('--deadline-ms goes with --rate or --concurrency; a trace gives each request\'s deadline in its deadline_ms column');
  if (f.deadlineMs !== undefined && f.sloMs !== undefined) throw new Error('--deadline-ms is also the objective goodput is scored against; drop the SLO (--slo-ms, or the workload\'s sloMs)');
  const headers = parseHeaderFlags(f.header ?? []);
  const [lo, hi] = f.intRange.split(',').map(Number);
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo! >= hi!) throw new Error(`--int-range '${f.intRange}': expected LO,HI with LO < HI`);
  const { parseInputData } = await import('./payload.js');
  return {
    url: f.url, models: f.model, ...(f.modelVersion ? { version: f.modelVersion } : {}),
    popularity: f.zipf !== undefined ? { kind: 'zipf', s: f.zipf } : { kind: 'uniform' },
    mode, arrival, cv: f.cv ?? 1, levels,
    ...(f.trace ? { trace: parseTrace(await readFile(f.trace, 'utf8')) } : {}),
    durationS: f.duration, warmupS: f.warmup,
    ...(f.sloMs !== undefined ? { sloMs: f.sloMs } : {}),
    ...(f.deadlineMs !== undefined ? { deadlineMs: f.deadlineMs } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(f.connections !== undefined ? { connections: f.connections } : {}),
    timeoutMs: f.timeoutMs, binary: f.binary === true, batch: f.batch,
    ...(f.dim !== undefined ? { dim: f.dim } : {}),
    shapes: Object.fromEntries(f.shape.map(parseShapeFlag)),
    ...(f.inputData ? { inputData: parseInputData(await readFile(f.inputData, 'utf8')) } : {}),
    intRange: [lo!, hi!], seed: f.seed,
  };
}

/** Flags a workload file sets; with --workload they may not be given too. */
const WORKLOAD_FLAGS = ['model', 'rate', 'concurrency', 'trace', 'sweep', 'arrival', 'cv', 'zipf', 'duration', 'warmup', 'sloMs'] as const;

/**
 * --workload FILE: the file's load in place of the load flags, so that `shoal simulate
 * --workload FILE` plays the same arrivals for the same seed. A rate curve (diurnal,
 * rateCurve), which bench's loops do not have, is played as a trace of the arrivals it draws.
 */
export async function workloadFileOptions(f: RawBenchFlags, cmd: Command): Promise<BenchOptions> {
  const file = f.workload!;
  const given = WORKLOAD_FLAGS.filter((k) => cmd.getOptionValueSource(k) === 'cli');
  if (given.length) throw new Error(`--workload ${file} describes the load; drop ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  const spec = parseWorkloadSpec(await readFile(file, 'utf8'), file);
  const seed = cmd.getOptionValueSource('seed') === 'cli' ? f.seed : spec.seed;
  const options = await benchOptions({
    ...f, model: spec.models ?? [], rate: spec.rate, concurrency: spec.concurrency, arrival: spec.arrival, cv: spec.cv, zipf: spec.zipf,
    duration: spec.duration, warmup: spec.warmup, sloMs: spec.sloMs, seed, sweep: undefined,
    trace: spec.trace === undefined ? undefined : path.resolve(path.dirname(file), spec.trace),
  });
  if (!specCurve(spec)) return options;
  // Played as a trace, the deadline rides on each arrival so that goodput is scored against it.
  const deadline = f.deadlineMs !== undefined ? { deadlineMs: f.deadlineMs } : {};
  return { ...options, mode: 'trace', levels: [], trace: [...workloadArrivals(specWorkload(spec), seed)].map((a) => ({ ...a, ...deadline })) };
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('measure a KServe v2 HTTP server (shoal, Triton, …): open-loop rates, closed-loop concurrency, sweeps, trace replay')
    .option('--url <url>', 'the server', 'http://127.0.0.1:8000')
    .option('--model <name>', 'model to send requests to; repeat for several', collect, [])
    .option('--model-version <v>', 'model version (default: the server picks)')
    .option('--rate [perSecond]', 'open loop: requests per second, sent on schedule whatever the server does', num('--rate', Number.MIN_VALUE))
    .addOption(new Option('--arrival <process>', 'open-loop arrivals').choices(['poisson', 'gamma', 'constant']))
    .option('--cv <x>', 'coefficient of variation of gamma interarrivals (1 = Poisson, >1 bursty); implies --arrival gamma', num('--cv', Number.MIN_VALUE))
    .option('--concurrency [clients]', 'closed loop: clients each waiting for its answer (default mode, 1 client)', num('--concurrency', 1, true))
    .option('--trace <file>', 'replay a CSV trace: timestamp_ms,model[,deadline_ms] (its first --warmup seconds are not counted)')
    .option('--sweep <list>', 'run one point per value: rates with --rate, client counts with --concurrency (e.g. 50,100,200)', list('--sweep'))
    .option('--zipf <s>', 'model popularity Zipf(s) in the order the models are given (default uniform)', num('--zipf', 0))
    .option('--duration <s>', 'measured seconds per point', num('--duration', Number.MIN_VALUE), 10)
    .option('--warmup <s>', 'seconds sent first and left out of the figures', num('--warmup', 0), 1)
    .option('--slo-ms <ms>', 'latency objective: goodput counts answers within it', num('--slo-ms', Number.MIN_VALUE))
    .option('--deadline-ms <ms>', 'send parameters.deadline_ms with every request (shoal drops what cannot finish in time) and score goodput against it', num('--deadline-ms', Number.MIN_VALUE))
    .option('--header <"Name: value">', 'HTTP header for every request, e.g. \'Authorization: Bearer KEY\'; repeat for several', collect, [])
    .option('--connections <n>', 'HTTP connections (default: clients, or enough for the rate at 200 ms per answer)', num('--connections', 1, true))
    .option('--timeout-ms <ms>', 'give up on an answer after this long (counted as a timeout error)', num('--timeout-ms', 1), 30_000)
    .option('--binary', 'binary tensor extension instead of JSON tensors')
    .option('--batch <n>', 'size of the batch dimension', num('--batch', 1, true), 1)
    .option('--dim <n>', 'size for every other dimension the metadata leaves -1', num('--dim', 0, true))
    .option('--shape <name=d1,d2>', 'full shape of one input, batch included; repeat per input', collect, [])
    .option('--input-data <file>', 'JSON requests to send instead of random ones ({"inputs": [...]}, a list, or keyed by model)')
    .option('--int-range <lo,hi>', 'random integer inputs drawn from [lo, hi)', '0,100')
    .option('--seed <n>', 'seed for arrivals, model choice and input values', num('--seed', 0, true), 1)
    .option('--json <file>', 'write the full report as JSON')
    .option('--html <file>', 'write a self-contained HTML report with plots')
    .option('--quiet', 'no progress lines on stderr')
    .option('--workload <file>', 'the load as a YAML/JSON file (the same one `shoal simulate --workload` takes) instead of the load flags')
    .addHelpText('after', `
Examples:
  shoal bench --model add_sub --rate 200 --duration 30 --slo-ms 50 --html report.html
  shoal bench --model mlp --model cnn --zipf 1.2 --rate --sweep 50,100,200,400 --binary
  shoal bench --model cnn --concurrency --sweep 1,2,4,8,16 --json cnn.json
  shoal bench --model identity_fp32 --dim 16 --rate 500 --arrival gamma --cv 3
  shoal bench --trace requests.csv --warmup 0
  shoal bench --model mlp --rate 50 --header "Authorization: Bearer $KEY" --deadline-ms 100`)
    .action(async (flags: RawBenchFlags, cmd: Command) => {
      const options = flags.workload ? await workloadFileOptions(flags, cmd) : await benchOptions(flags);
      const { runBench } = await import('./runner.js');
      const { consoleReport } = await import('./report-text.js');
      if (!flags.quiet) options.progress = (line) => process.stderr.write(`${line}\n`);
      const report = await runBench(options, `shoal bench ${redactedArgs(process.argv.slice(3))}`);
      console.log(consoleReport(report));
      if (flags.json) await writeFile(flags.json, JSON.stringify(report, null, 2) + '\n');
      if (flags.html) {
        const { htmlReport } = await import('./report-html.js');
        await writeFile(flags.html, htmlReport(report));
      }
      if (report.points.every((p) => p.stats.ok === 0)) process.exitCode = 2;
    });
}
