/**
 * `npm run bench`: starts shoal and the bare baseline, measures, prints, and rewrites the
 * issue-2 section of BENCHMARKS.md.
 *
 *   --quick      a few seconds, to check the bench works; implies --no-write unless --write
 *   --no-write   leave BENCHMARKS.md alone
 *   --write      write BENCHMARKS.md even with --quick
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cnnLag, roundTrip, type LagResult, type LagOptions, type RoundTripOptions } from './latency.js';
import { CNN_MODEL, prepareBenchRepository } from './lib/bench-models.js';
import { repoRoot, startBare, startShoal, type RunningServer } from './lib/process.js';
import { consoleReport, markdownSection, writeSection, type RunReport } from './report.js';

const argv = process.argv.slice(2);
const { values: args } = parseArgs({
  args: argv,
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
  },
});

const quick = args.quick === true;
const write = args.write === true || (!quick && args['no-write'] !== true);

const roundTripOptions: RoundTripOptions = quick
  ? { rounds: 2, requestsPerRound: 200, warmup: 50 }
  : { rounds: 6, requestsPerRound: 2000, warmup: 500 };
const lagBase: Omit<LagOptions, 'batch'> = { model: CNN_MODEL, connections: 4, durationMs: quick ? 1500 : 10_000 };

/** How this run was started, as someone would retype it. */
function command(): string {
  const rest = argv.join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return rest ? `npm run bench -- ${rest}` : 'npm run bench';
  return `node ${path.relative(repoRoot(), process.argv[1] ?? 'dist/bench/run.js')}${rest ? ` ${rest}` : ''}`;
}

async function main(): Promise<void> {
  const root = repoRoot();
  const benchModels = path.join(root, 'bench', 'results', 'models');
  await prepareBenchRepository(benchModels);

  const servers: RunningServer[] = [];
  let report: RunReport;
  try {
    const shoal = await startShoal(benchModels);
    servers.push(shoal);
    const bare = await startBare();
    servers.push(bare);
    console.log(`shoal at ${shoal.url} (log: ${path.relative(root, shoal.logFile)}), bare baseline at ${bare.url}`);

    console.log(`round trip: ${roundTripOptions.rounds} rounds × ${roundTripOptions.requestsPerRound} requests per target…`);
    const rt = await roundTrip({ shoal: shoal.url, bare: bare.url }, roundTripOptions);
    const lag: LagResult[] = [];
    for (const batch of [32, 1]) {
      console.log(`event-loop lag: ${lagBase.model} batch ${batch}, ${lagBase.connections} connections, ${lagBase.durationMs / 1000} s…`);
      lag.push(await cnnLag(shoal.url, { ...lagBase, batch }));
    }
    report = { date: new Date(), quick, command: command(), roundTrip: rt, lag };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }

  console.log(`\n${consoleReport(report)}\n`);
  if (write) {
    const file = path.join(root, 'BENCHMARKS.md');
    writeSection(file, markdownSection(report));
    console.log(`updated ${path.relative(process.cwd(), file) || file}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  // A 503 mid-run means shoal was told to stop; its log says by which signal and when.
  console.error('server logs: bench/results/shoal.log, bench/results/bare-http.log');
  process.exitCode = 1;
});
