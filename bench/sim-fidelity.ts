/**
 * Issue 6, fidelity: a real single-node run against a real shoal server, and the simulation of
 * the same workload (same seed, so the same arrivals) from a profile measured on this machine.
 * Targets: simulated throughput within 5% of the measured one, p50 and p99 within 15%.
 *
 * Steps, all on this machine:
 *  1. `shoal profile` (measureProfile) times each model's batches alone, with no server running.
 *  2. A shoal server is started. Two calibration runs measure what the profile cannot see, the
 *     request path around the model (HTTP, decode, encode; one event loop for all models):
 *     a closed loop at high concurrency gives the server's capacity C (its request path is busy
 *     1000/C ms per request: `node.requestMs`), and a light open loop gives each model's
 *     latency without queueing (less its compute and the request path: `overheadMs`).
 *  3. The measured run: Poisson arrivals over the two models at 70% of C.
 *  4. The simulation of step 3's workload with the calibrated profile.
 *
 *   npm run bench:sim-fidelity                                  full run, writes BENCHMARKS.md
 *   npm run bench:sim-fidelity -- --duration 3 --no-write       a short check
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBench, type BenchOptions, type BenchReport } from '../src/bench/runner.js';
import { writeExampleRepository } from '../src/onnx/examples.js';
import type { ProfileFile } from '../src/sim/cost-model.js';
import { measureProfile } from '../src/sim/measure.js';
import type { SimReport } from '../src/sim/report.js';
import { runSimulation } from '../src/sim/run.js';
import { markers, sectionHead, table, writeSection } from './lib/markdown.js';
import { resultsDir, spawnServer } from './lib/process.js';
import { ensureIssue6Block } from './sim-section.js';

const { values: a } = parseArgs({
  options: {
    models: { type: 'string', default: 'cnn,text_encoder' },
    load: { type: 'string', default: '0.7' },
    duration: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    'no-write': { type: 'boolean', default: false },
  },
});
const models = a.models.split(',');
const durationS = Number(a.duration);
const warmupS = Number(a.warmup);
const seed = Number(a.seed);
const say = (line: string): void => void process.stderr.write(`${line}\n`);
const DIM = 16;

const benchOptions = (url: string, o: Partial<BenchOptions>): BenchOptions => ({
  url, models, popularity: { kind: 'uniform' }, mode: 'rate', arrival: 'poisson', cv: 1, levels: [], durationS, warmupS,
  timeoutMs: 30_000, binary: false, batch: 1, dim: DIM, shapes: {}, intRange: [0, 100], seed, ...o,
});

const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-sim-fidelity-'));
const repo = path.join(dir, 'models');
await writeExampleRepository(repo, { includePretrained: false });

say('1. profile (no server running)');
const profile: ProfileFile = await measureProfile({ repository: repo, models, runs: 200, warmupRuns: 20, dim: DIM, seed, progress: (l) => say(`   ${l}`) });

const server = await spawnServer({
  args: ['--import', 'tsx', 'src/cli.ts', 'serve', '--model-repository', repo, '--http-port', '{port}', '--host', '127.0.0.1', '--log-level', 'warn'],
  logFile: path.join(resultsDir(), 'sim-fidelity-shoal.log'), readyTimeoutMs: 120_000,
});
let real: BenchReport;
let capacity: number;
let light: BenchReport;
const loadBefore = os.loadavg()[0]!;
try {
  say('2. calibration: capacity (closed loop, 16 clients) and unloaded latency (open loop, light)');
  const closed = await runBench(benchOptions(server.url, { mode: 'concurrency', levels: [16], durationS: 5, warmupS: 1 }));
  capacity = closed.points[0]!.stats.throughputPerS;
  light = await runBench(benchOptions(server.url, { mode: 'rate', arrival: 'constant', levels: [Math.max(5, capacity * 0.05)], durationS: 5, warmupS: 1 }));
  const rate = Math.round(capacity * Number(a.load));
  say(`   capacity ${capacity.toFixed(0)}/s; measured run at ${rate}/s`);
  say('3. the measured run');
  real = await runBench(benchOptions(server.url, { levels: [rate] }), `fidelity: Poisson ${rate}/s`);
} finally {
  await server.stop();
}
const loadAfter = os.loadavg()[0]!;

// What the profile cannot see, from the calibration runs (never from the run being compared).
const requestMs = 1000 / capacity;
const calibrated: ProfileFile = {
  ...profile, node: { requestMs },
  models: profile.models.map((m) => {
    const lightP50 = light.points[0]!.stats.byModel[m.name]?.p50Ms ?? 0;
    return { ...m, overheadMs: Math.max(0, lightP50 - m.latency[0]!.ms - requestMs) };
  }),
};
const rate = real.points[0]!.rate!;
say('4. the simulation of the same workload');
const sim: SimReport = runSimulation({
  profile: calibrated, profileFile: 'calibrated profile', seed,
  spec: { models, rate, arrival: 'poisson', duration: durationS, warmup: warmupS, seed },
  workload: { kind: 'open', process: { kind: 'poisson', ratePerS: rate }, models, popularity: { kind: 'uniform' }, durationMs: (warmupS + durationS) * 1000 },
  nodes: 1, router: 'round-robin', evictionPolicy: 'lru', networkDelayMs: 0, variation: true, timeoutMs: 30_000,
});

const out = resultsDir();
await writeFile(path.join(out, 'sim-fidelity-real.json'), JSON.stringify(real, null, 2));
await writeFile(path.join(out, 'sim-fidelity-sim.json'), JSON.stringify(sim, null, 2));
await writeFile(path.join(out, 'sim-fidelity-profile.json'), JSON.stringify(calibrated, null, 2));
await rm(dir, { recursive: true, force: true });

const r = real.points[0]!.stats;
const s = sim.points[0]!.stats;
const err = (x: number | undefined, y: number | undefined): number => (x === undefined || y === undefined ? NaN : Math.abs(x - y) / y);
const rows = [
  { what: 'throughput (ok/s)', real: r.throughputPerS, sim: s.throughputPerS, target: 0.05 },
  { what: 'p50 ms', real: r.latencyMs?.p50, sim: s.latencyMs?.p50, target: 0.15 },
  { what: 'p99 ms', real: r.latencyMs?.p99, sim: s.latencyMs?.p99, target: 0.15 },
];
for (const x of rows) say(`   ${x.what}: real ${x.real?.toFixed(2)}, simulated ${x.sim?.toFixed(2)}, off by ${(100 * err(x.sim, x.real)).toFixed(1)}% (target ${100 * x.target}%)`);
const met = rows.every((x) => err(x.sim, x.real) <= x.target);

if (!a['no-write']) {
  ensureIssue6Block('BENCHMARKS.md');
  const quick = durationS < 30;
  writeSection('BENCHMARKS.md', 'issue6-fidelity', [
    ...sectionHead({
      title: 'Issue 6: simulator fidelity (one node, real against simulated)', date: new Date(), quick,
      command: `npm run bench:sim-fidelity -- --models ${a.models} --load ${a.load} --duration ${durationS} --warmup ${warmupS} --seed ${seed}`,
      met: quick ? undefined : met,
      notes: [
        `Load average (1 min) ${loadBefore.toFixed(2)} before the server runs and ${loadAfter.toFixed(2)} after; the bench client shares the machine with the server.`,
        `Models ${models.join(', ')} (inputs of dimension ${DIM}), Poisson arrivals at ${rate}/s = ${a.load} × the capacity a 16-client closed loop measured (${capacity.toFixed(0)}/s).`,
        `Calibrated from separate runs: request path ${requestMs.toFixed(3)} ms per request (1000 / capacity); overhead per model ${calibrated.models.map((m) => `${m.name} ${m.overheadMs.toFixed(3)} ms`).join(', ')}.`,
        'Reports: bench/results/sim-fidelity-real.json, sim-fidelity-sim.json, and the profile used, sim-fidelity-profile.json.',
      ],
    }),
    ...table(['figure', 'real', 'simulated', 'off by', 'target'], rows.map((x) => [
      x.what, x.real?.toFixed(2) ?? '–', x.sim?.toFixed(2) ?? '–', `${(100 * err(x.sim, x.real)).toFixed(1)}%`, `≤ ${100 * x.target}%`,
    ])),
  ].join('\n'));
  say(`wrote ${markers('issue6-fidelity').start} … in BENCHMARKS.md`);
}
