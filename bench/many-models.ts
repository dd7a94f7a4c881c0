/**
 * Issue 5's benchmark: many models on one node. A repository of 100 generated models of varied
 * sizes, Poisson arrivals with Zipf(1.0) popularity over them (popularity rank independent of
 * size), played against shoal (built, from dist/) in one run:
 *
 * 1. the ceiling: every model loaded at start (`--model-control-mode none`, no budget), and a
 *    rate search for the highest rate it sustains (see `shortfall`);
 * 2. a memory budget that holds about 15 of the models (15 × the mean footprint the ceiling's
 *    server measured), LRU and cost-aware, each on a fresh server, at half the ceiling's rate,
 *    at a low rate (LOW_RATE, or `--rates`), and, with `--same-rate`, at the ceiling's own rate.
 *
 * Default run about 9 minutes on 2 cores; `--quick` (shorter points, fewer trials) about 4.
 *
 * Every model's config carries the 200 ms SLO (`slo.default_deadline_microseconds`), as an
 * operator would give it, and the requests bring no deadline of their own: the server refuses
 * early what it cannot answer in time instead of queueing it for seconds.
 *
 * Reports hit rate, loads per minute, p50/p99, SLO attainment at 200 ms and errors, and writes
 * BENCHMARKS.md between the bench:issue5 markers.
 *
 *   npm run bench:many-models -- [--quick] [--rates 4,8] [--same-rate] [--seed 5]
 *
 * For trying a change to loading quickly, `--ceiling 1900 --budget-mib 621` skips the rate
 * search and takes those figures from an earlier run, and `--policies cost-aware` runs one
 * policy; such a run prints its figures and leaves BENCHMARKS.md alone, since its section would
 * lack the ceiling. `--log-level info` keeps each policy server's log of loads and evictions.
 */
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openLoop } from '../src/bench/load.js';
import { encodeBinary } from '../src/bench/payload.js';
import { type PointStats, Recorder } from '../src/bench/recorder.js';
import { integer, substream } from '../src/bench/random.js';
import type { Pool } from 'undici';
import { connectionPool, endpoint, sendInfer, type PreparedModel } from '../src/bench/target.js';
import { type Workload, popularityWeights, workloadArrivals } from '../src/bench/workload.js';
import { markers, ms, perS, sectionHead, table, writeSection, yes } from './lib/markdown.js';
import { trouble } from './lib/measure.js';
import { parseHistogram } from './lib/prometheus.js';
import { repoRoot, resultsDir, startShoal, type RunningServer } from './lib/process.js';
import { bestRate, nextRate, type Trial } from './lib/rate-search.js';
import { SIZED_INPUT, writeSizedRepository } from './lib/sized-models.js';

const SLO_MS = 200;
/** The ceiling sustains a rate when p99 is within the SLO and at least this share of requests is answered within it (errors count as misses). */
const SUSTAIN_FRACTION = 0.99;
/** Target for the cost-aware policy at half the ceiling's rate. */
const ATTAINMENT_TARGET = 0.95;
const MODEL_COUNT = 100;
const HOLD = 15;
/** Model files log-uniform between these: every session also costs a worker thread and an onnxruntime instance (tens of MiB), so the largest files are what make footprints and load times differ. */
const MIN_FILE = 64 * 1024;
const MAX_FILE = 16 * 1024 * 1024;
const HOST_CACHE = '256MiB';
/**
 * Enough that requests waiting for a load do not hold up, in the client, requests for loaded
 * models behind them: under overload thousands wait at once, and with fewer connections every
 * request queues in the client and the figures say more about the generator than the server.
 */
const CONNECTIONS = 4096;
const REQUEST_TIMEOUT_MS = 30_000;
const SETTLE_REQUESTS = 8;
/**
 * Half the ceiling's rate asks the budgeted server for far more loads per second than its load
 * lane can do (see the section's notes), so both policies also run at this low rate, where the
 * lane has time to spare and what the policy keeps resident decides the latency.
 */
const LOW_RATE = 8;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    /** Further rates (requests/s) at which to run both policies, besides half the ceiling's; LOW_RATE unless given (`--rates=` for none). */
    rates: { type: 'string' },
    /** Also run both policies at the ceiling's own sustained rate. */
    'same-rate': { type: 'boolean', default: false },
    /** Measured window of each policy run, and the warm-up before it. */
    'duration-s': { type: 'string' },
    'warmup-s': { type: 'string' },
    /** Each rate-search point on the ceiling, and the warm-up before it. */
    'point-s': { type: 'string' },
    'point-warmup-s': { type: 'string' },
    'max-trials': { type: 'string' },
    /** First rate the search tries. */
    'start-rate': { type: 'string' },
    seed: { type: 'string', default: '5' },
    /** Skip the rate search: the ceiling's sustained rate from an earlier run (needs --budget-mib). */
    ceiling: { type: 'string' },
    /** The budget in MiB when the search is skipped. */
    'budget-mib': { type: 'string' },
    /** Policies to run, comma-separated. */
    policies: { type: 'string', default: 'lru,cost-aware' },
    /** Log level of the policy servers (their logs go to bench/results/many-models-*.log). */
    'log-level': { type: 'string', default: 'warn' },
  },
});
const quick = values.quick === true;
const num = (v: string | undefined, full: number, short: number): number => {
  const x = Number(v ?? (quick ? short : full));
  if (!Number.isFinite(x) || x <= 0) throw new Error(`expected a positive number, got '${v}'`);
  return x;
};
const settings = {
  durationS: num(values['duration-s'], 60, 10),
  warmupS: num(values['warmup-s'], 30, 8),
  pointS: num(values['point-s'], 10, 4),
  pointWarmupS: num(values['point-warmup-s'], 3, 2),
  maxTrials: num(values['max-trials'], 7, 5),
  startRate: num(values['start-rate'], 400, 400),
};
const extraRates = (values.rates ?? String(LOW_RATE)).split(',').filter((s) => s.trim() !== '').map((s) => num(s, 1, 1));
const seed = Number(values.seed);
const policies = values.policies.split(',').map((p) => {
  if (p !== 'lru' && p !== 'cost-aware') throw new Error(`unknown policy '${p}' (lru or cost-aware)`);
  return p;
});
const given = values.ceiling === undefined ? undefined : { rate: num(values.ceiling, 1, 1), budgetBytes: num(values['budget-mib'], 0, 0) * 2 ** 20 };
const say = (line: string): void => console.log(line);

/** Sizes log-uniform between MIN_FILE and MAX_FILE, seeded, independent of popularity rank (the list order). */
function models(): Array<{ name: string; tag: number; bytes: number }> {
  const r = substream(seed, 'sizes');
  return Array.from({ length: MODEL_COUNT }, (_, i) => ({
    name: `model_${String(i).padStart(3, '0')}`,
    tag: i + 1,
    bytes: Math.round(MIN_FILE * (MAX_FILE / MIN_FILE) ** r()),
  }));
}

interface Scrape {
  hits: number; misses: number; loads: number; failedLoads: number; evictions: number; resident: number; models: number; hostCacheHits: number; loadSeconds: number; loadCount: number;
  /** Inference requests the server answered or refused, whatever the outcome (shoal_inference_requests_total). */
  requests: number;
  /** The event loop's lag (shoal_event_loop_lag_seconds): how late its periodic timer fired, summed, and how often it was measured. */
  lagSeconds: number; lagCount: number;
}

async function scrape(url: string): Promise<Scrape> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  const durations = parseHistogram(text, 'shoal_model_load_duration_seconds');
  const lag = parseHistogram(text, 'shoal_event_loop_lag_seconds');
  return {
    hits: sum(/^shoal_model_lookups_total\{[^}]*result="hit"[^}]*\} (\S+)/gm),
    misses: sum(/^shoal_model_lookups_total\{[^}]*result="miss"[^}]*\} (\S+)/gm),
    loads: sum(/^shoal_model_loads_total\{[^}]*cause="on-demand"[^}]*outcome="success"[^}]*\} (\S+)/gm),
    failedLoads: sum(/^shoal_model_loads_total\{[^}]*outcome="failure"[^}]*\} (\S+)/gm),
    evictions: sum(/^shoal_model_evictions_total\{[^}]*\} (\S+)/gm),
    resident: sum(/^shoal_model_memory_bytes\{kind="resident"\} (\S+)/gm),
    models: sum(/^shoal_models_loaded (\S+)/gm),
    hostCacheHits: sum(/^shoal_host_cache_hits_total\{[^}]*\} (\S+)/gm),
    loadSeconds: durations?.sum ?? 0,
    loadCount: durations?.count ?? 0,
    requests: sum(/^shoal_inference_requests_total\{[^}]*\} (\S+)/gm),
    lagSeconds: lag?.sum ?? 0,
    lagCount: lag?.count ?? 0,
  };
}

function prepared(url: string, names: string[]): Map<string, PreparedModel> {
  const r = substream(seed, 'inputs');
  const out = new Map<string, PreparedModel>();
  for (const name of names) {
    const requests = Array.from({ length: 4 }, () => {
      const data = Float32Array.from({ length: SIZED_INPUT }, () => integer(r, -3, 3));
      return encodeBinary([{ name: 'x', datatype: 'FP32', shape: [1, SIZED_INPUT], data }]);
    });
    out.set(name, { name, path: `${endpoint(url).prefix}/v2/models/${name}/infer`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, SIZED_INPUT] }], requests });
  }
  return out;
}

interface Point { rate: number; stats: PointStats; window: Scrape; windowS: number }

/**
 * One open-loop point with shoal bench's generator and recorder: Poisson at `rate`, Zipf(1.0),
 * `warmupS` then `windowS` measured; the server's counters are read at the window's start and
 * once every answer is in.
 */
async function point(server: RunningServer, pool: Pool, names: string[], rate: number, warmupS: number, windowS: number, label: string): Promise<Point> {
  const warmupMs = warmupS * 1000;
  const endMs = warmupMs + windowS * 1000;
  const workload: Workload = { kind: 'open', process: { kind: 'poisson', ratePerS: rate }, models: names, popularity: { kind: 'zipf', s: 1.0 }, durationMs: endMs };
  const recorder = new Recorder({ windowStartMs: warmupMs, windowEndMs: endMs, binMs: 1000, connections: CONNECTIONS, sloMs: SLO_MS });
  const t0 = performance.now();
  // The counters are read when the window opens and when it closes, so loads, evictions and load
  // time are the window's, as the requests are (an overloaded server still loads after it).
  let before: Promise<Scrape> | undefined;
  let after: Promise<Scrape> | undefined;
  const marks = [setTimeout(() => (before = scrape(server.url)), warmupMs), setTimeout(() => (after = scrape(server.url)), endMs)];
  const ticker = setInterval(() => {
    const p = recorder.progress();
    say(`    ${label} ${((performance.now() - t0) / 1000).toFixed(0)}/${(endMs / 1000).toFixed(0)} s: sent ${p.sent}, ok ${p.ok}, errors ${p.errors}, in flight ${recorder.inFlightNow}`);
  }, 10_000);
  try {
    await openLoop(workloadArrivals(workload, seed), { pool, models: prepared(server.url, names), recorder, now: () => performance.now() - t0 });
  } finally {
    clearInterval(ticker);
  }
  // The last answer can come in before the window's end (its last arrival falls a little short of it).
  const left = endMs - (performance.now() - t0);
  if (left > 0) await new Promise((r) => setTimeout(r, left + 5));
  if (!before) throw new Error('the counters were not read when the window opened');
  after ??= scrape(server.url);
  for (const m of marks) clearTimeout(m);
  const [start, end] = await Promise.all([before, after]);
  const window: Scrape = {
    hits: end.hits - start.hits, misses: end.misses - start.misses, loads: end.loads - start.loads, failedLoads: end.failedLoads - start.failedLoads, evictions: end.evictions - start.evictions,
    resident: end.resident, models: end.models, hostCacheHits: end.hostCacheHits - start.hostCacheHits,
    loadSeconds: end.loadSeconds - start.loadSeconds, loadCount: end.loadCount - start.loadCount,
    requests: end.requests - start.requests, lagSeconds: end.lagSeconds - start.lagSeconds, lagCount: end.lagCount - start.lagCount,
  };
  return { rate, stats: recorder.summary(false), window, windowS };
}

/**
 * Before the search, every model of the ceiling gets a few requests, one after another: each
 * session settles where its batches run (placement.ts measures the first ones on the worker),
 * which the rarely used models would otherwise do in the middle of a measured point.
 */
async function settle(server: RunningServer, names: string[]): Promise<void> {
  const bodies = prepared(server.url, names);
  const pool = connectionPool(endpoint(server.url), 4, REQUEST_TIMEOUT_MS);
  const queue = [...bodies.values()];
  try {
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let m = queue.shift(); m; m = queue.shift()) {
        for (let i = 0; i < SETTLE_REQUESTS; i++) {
          const o = await sendInfer(pool, m.path, m.requests[i % m.requests.length]!);
          if (!o.ok) throw new Error(`model '${m.name}' failed before the search: ${o.kind} ${o.detail}`);
        }
      }
    }));
  } finally {
    await pool.close();
  }
}

/** Why the ceiling does not sustain a point, or undefined when it does: p99 within the SLO and ≥ 99% answered within it (errors and late answers alike count against that). */
function shortfall(s: PointStats): string | undefined {
  if (!s.latencyMs) return 'no answers';
  const good = s.goodFraction ?? 0;
  const why: string[] = [];
  if (s.latencyMs.p99 > SLO_MS) why.push(`p99 ${s.latencyMs.p99.toFixed(0)} ms`);
  if (good < SUSTAIN_FRACTION) why.push(`${pct(good)} within ${SLO_MS} ms`);
  if (why.length > 0 && s.errorCount > 0) why.push(`errors: ${(trouble(s) ?? '').slice(0, 160)}`);
  return why.length > 0 ? why.join(', ') : undefined;
}

interface SearchPoint extends Trial { stats: PointStats; why?: string }
interface Ceiling { startS: number; meanFootprint: number; loaded: number; points: SearchPoint[]; best?: number; /** No rate tried failed: `best` is a lower bound. */ unbounded: boolean }

async function ceiling(repo: string, names: string[]): Promise<Ceiling> {
  const t = performance.now();
  say(`ceiling: starting shoal with all ${names.length} models loaded at start`);
  const server = await startShoal(repo, { log: 'many-models-ceiling.log', args: ['--log-level', 'warn', '--model-control-mode', 'none'] });
  try {
    const startS = (performance.now() - t) / 1000;
    const s = await scrape(server.url);
    say(`ceiling: ready in ${startS.toFixed(0)} s, ${s.models} models loaded, ${mib(s.resident)} measured`);
    if (s.models !== names.length) throw new Error(`only ${s.models} of ${names.length} models loaded at start (see ${server.logFile})`);
    await settle(server, names);
    // One pool for the whole search, opened (and both processes' code warmed) by an unrecorded
    // point at half the first rate: otherwise the first trial alone pays for opening connections.
    const pool = connectionPool(endpoint(server.url), CONNECTIONS, REQUEST_TIMEOUT_MS);
    try {
      await point(server, pool, names, settings.startRate / 2, 0, settings.pointWarmupS, 'ceiling warm-up');
      const points: SearchPoint[] = [];
      const opts = { start: settings.startRate, maxTrials: settings.maxTrials, resolution: 1.2, minRate: 1 };
      for (let rate = nextRate(points, opts); rate !== undefined; rate = nextRate(points, opts)) {
        const p = await point(server, pool, names, rate, settings.pointWarmupS, settings.pointS, `ceiling ${rate}/s`);
        const why = shortfall(p.stats);
        say(`  ceiling ${rate}/s: p50 ${ms(p.stats.latencyMs?.p50, 1)} ms, p99 ${ms(p.stats.latencyMs?.p99, 1)} ms, ${pct(p.stats.goodFraction)} within ${SLO_MS} ms, ${p.stats.errorCount} errors → ${why ? `not sustained (${why})` : 'sustained'}${p.stats.generatorKeptUp ? '' : '; generator behind'}`);
        points.push({ rate, pass: why === undefined, stats: p.stats, ...(why ? { why } : {}) });
      }
      const best = bestRate(points);
      return { startS, meanFootprint: s.resident / s.models, loaded: s.models, points, unbounded: points.every((p) => p.pass), ...(best !== undefined ? { best } : {}) };
    } finally {
      await pool.close();
    }
  } finally {
    await server.stop();
  }
}

interface PolicyRow { policy: 'lru' | 'cost-aware'; rate: number; why: string; point?: Point; error?: string }

async function policyRun(repo: string, names: string[], policy: PolicyRow['policy'], rate: number, budget: number, why: string): Promise<PolicyRow> {
  say(`${policy} at ${rate}/s (${why}): fresh server, budget ${mib(budget)}, host cache ${HOST_CACHE}`);
  let server: RunningServer | undefined;
  try {
    server = await startShoal(repo, {
      log: `many-models-${policy}-${rate}.log`,
      args: ['--log-level', values['log-level'], '--memory-budget', String(budget), '--host-cache', HOST_CACHE, '--eviction-policy', policy],
    });
    const pool = connectionPool(endpoint(server.url), CONNECTIONS, REQUEST_TIMEOUT_MS);
    const p = await point(server, pool, names, rate, settings.warmupS, settings.durationS, `${policy} ${rate}/s`).finally(() => pool.close());
    say(`  ${policy} ${rate}/s: hit rate ${pct(hitRate(p))} (${pct(hitShare(p))} of all), event-loop lag ${ms(meanLagMs(p), 1)} ms, ${perS(loadsPerMin(p))} loads/min, p50 ${ms(p.stats.latencyMs?.p50, 1)} ms, p99 ${ms(p.stats.latencyMs?.p99, 1)} ms, ${pct(p.stats.goodFraction)} within ${SLO_MS} ms, ${p.stats.errorCount} errors${p.stats.errorCount ? ` (${trouble(p.stats)})` : ''}`);
    return { policy, rate, why, point: p };
  } catch (e) {
    say(`  ${policy} ${rate}/s failed: ${(e as Error).message}`);
    return { policy, rate, why, error: (e as Error).message.split('\n')[0]! };
  } finally {
    await server?.stop();
  }
}

/**
 * A hit: a request that found its model loaded; a miss waited for a load, one it started or one
 * under way. Counted by the server (shoal_model_lookups_total) over the requests that reached it
 * in the window, which under overload are fewer than the generator sent: the rest queue in the client.
 */
const hitRate = (p: Point): number | undefined => (p.window.hits + p.window.misses > 0 ? p.window.hits / (p.window.hits + p.window.misses) : undefined);
/**
 * Hits over every request the server answered or refused in the window: unlike the hit rate,
 * this counts requests refused before any wait for a load (a load declined, back-off, a load
 * longer than the request may wait), so a policy cannot look better by refusing misses.
 */
const hitShare = (p: Point): number | undefined => (p.window.requests > 0 ? p.window.hits / p.window.requests : undefined);
/** The server's mean event-loop lag in the window (ms): high when the cores are short for it. */
const meanLagMs = (p: Point): number | undefined => (p.window.lagCount > 0 ? (1000 * p.window.lagSeconds) / p.window.lagCount : undefined);
const missRate = (p: Point): number | undefined => {
  const h = hitRate(p);
  return h === undefined ? undefined : 1 - h;
};
const loadsPerMin = (p: Point): number => p.window.loads / (p.windowS / 60);
/** Seconds spent loading (successful loads, summed over loads that overlapped) per second of window. */
const laneBusy = (p: Point): number => p.window.loadSeconds / p.windowS;
/** What the generator's side says about a point: it fell behind, or requests queued for one of its connections (their wait counts in their latency). */
const clientSide = (s: PointStats): string => [
  s.generatorKeptUp ? '' : 'generator behind',
  s.waitedForConnection > 0 ? `${s.waitedForConnection} waited for one of ${CONNECTIONS} connections` : '',
].filter(Boolean).join('; ') || 'ok';
/**
 * The estimate the section gives for why a target is out of reach at `rate`: the share of the
 * requests that the models resident at the window's end could take if they were the most
 * popular ones, plus what the loads completed in the window could answer in time, each at most
 * its own request and the others for its model within the SLO.
 */
function attainmentBound(p: Point, rate: number, weights: readonly number[]) {
  const resident = Math.max(1, p.window.models);
  const topShare = weights.slice(0, resident).reduce((a, b) => a + b, 0);
  const nextRate = (weights[resident] ?? 0) * rate;
  const perLoad = 1 + nextRate * (SLO_MS / 1000);
  const loadsPerS = p.window.loads / p.windowS;
  const fromLoads = (loadsPerS * perLoad) / rate;
  const loadsNeeded = Math.max(0, ((ATTAINMENT_TARGET - topShare) * rate) / perLoad);
  let holdFor95 = 0;
  for (let share = 0; share < ATTAINMENT_TARGET && holdFor95 < weights.length; holdFor95++) share += weights[holdFor95]!;
  return { resident, topShare, nextRate, perLoad, loadsPerS, fromLoads, total: Math.min(1, topShare + fromLoads), loadsNeeded, holdFor95 };
}

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
const size = (b: number): string => (b < 2 ** 20 ? `${(b / 1024).toFixed(0)} KiB` : mib(b));

async function main(): Promise<void> {
  const began = performance.now();
  const loadBefore = os.loadavg()[0]!;
  const repo = path.join(resultsDir(), 'many-models-repo');
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true });
  const list = models();
  await writeSizedRepository(repo, list, { sloMs: SLO_MS });
  const names = list.map((m) => m.name);
  const fileBytes = list.reduce((n, m) => n + m.bytes, 0);
  say(`repository: ${names.length} models, ${mib(fileBytes)} of weights (${size(MIN_FILE)}–${size(MAX_FILE)} log-uniform per model)`);

  const ceil: Ceiling = given
    ? { startS: 0, meanFootprint: given.budgetBytes / HOLD, loaded: 0, points: [], best: given.rate, unbounded: false }
    : await ceiling(repo, names);
  const budget = Math.round(ceil.meanFootprint * HOLD);
  say(`ceiling sustains ${ceil.unbounded ? 'at least ' : ''}${ceil.best ?? 'no rate tried'}/s; mean measured footprint ${mib(ceil.meanFootprint)}, so the budget is ${mib(budget)} (about ${HOLD} models)`);

  const rows: PolicyRow[] = [];
  const half = ceil.best !== undefined ? Math.max(1, Math.round(ceil.best / 2)) : undefined;
  const rates: Array<{ rate: number; why: string }> = [
    ...(half !== undefined ? [{ rate: half, why: 'half the ceiling' }] : []),
    ...(values['same-rate'] && ceil.best !== undefined ? [{ rate: ceil.best, why: 'the ceiling\'s rate' }] : []),
    ...extraRates.map((rate) => ({ rate, why: values.rates === undefined ? 'low rate (default of --rates)' : 'asked for (--rates)' })),
  ];
  for (const { rate, why } of rates) {
    for (const policy of policies) rows.push(await policyRun(repo, names, policy, rate, budget, why));
  }

  const at = (policy: PolicyRow['policy'], rate: number | undefined) => rows.find((r) => r.policy === policy && r.rate === rate)?.point;
  const lruHalf = at('lru', half);
  const costHalf = at('cost-aware', half);
  const notWorse = lruHalf && costHalf ? (costHalf.stats.goodFraction ?? 0) >= (lruHalf.stats.goodFraction ?? 0) : undefined;
  const reaches = costHalf ? (costHalf.stats.goodFraction ?? 0) >= ATTAINMENT_TARGET : undefined;
  const met = notWorse === undefined || reaches === undefined ? false : notWorse && reaches;
  const elapsedS = (performance.now() - began) / 1000;

  const args = [
    quick ? ' --quick' : '',
    values.rates !== undefined ? ` --rates=${values.rates}` : '',
    values['same-rate'] ? ' --same-rate' : '',
    ...(['duration-s', 'warmup-s', 'point-s', 'point-warmup-s', 'max-trials', 'start-rate'] as const).map((k) => (values[k] !== undefined ? ` --${k} ${values[k]}` : '')),
    values.seed !== '5' ? ` --seed ${values.seed}` : '',
  ].join('');
  const command = `npm run bench:many-models --${args}`;
  const topShare = popularityWeights(names, { kind: 'zipf', s: 1.0 }).slice(0, HOLD).reduce((a, b) => a + b, 0);
  const lane = costHalf ? { policy: 'cost-aware', point: costHalf } : lruHalf ? { policy: 'lru', point: lruHalf } : undefined;
  const laneRate = half;
  const meanLoadMs = lane && lane.point.window.loadCount > 0 ? (1000 * lane.point.window.loadSeconds) / lane.point.window.loadCount : undefined;
  const weights = popularityWeights(names, { kind: 'zipf', s: 1.0 });
  const bound = lane && laneRate !== undefined ? attainmentBound(lane.point, laneRate, weights) : undefined;
  const body = [
    ...sectionHead({
      title: 'Issue 5: many models under a memory budget',
      date: new Date(), quick, command, met,
      notes: [
        `${names.length} generated models (${mib(fileBytes)} of weights, ${size(MIN_FILE)} to ${size(MAX_FILE)} each, log-uniform, popularity rank independent of size), Poisson arrivals, Zipf(1.0) popularity, batch-1 binary requests without deadlines of their own; every model's config carries the ${SLO_MS} ms SLO (\`slo: { default_deadline_microseconds: ${SLO_MS * 1000} }\`), as an operator would tell shoal, so admission refuses (429) what it predicts cannot be answered within it, a request waits for its model's load at most that long (then 503), and SLO attainment counts answers within ${SLO_MS} ms. Whole run: ${(elapsedS / 60).toFixed(1)} min.`,
        `Ceiling: every model loaded at start (\`--model-control-mode none\`, no budget; ${ceil.loaded} loaded in ${ceil.startS.toFixed(0)} s). It *sustains* a rate when p99 ≤ ${SLO_MS} ms and ≥ ${pct(SUSTAIN_FRACTION)} of the requests sent in the window are answered within ${SLO_MS} ms (errors count as misses); rate search (bench/lib/rate-search.ts) from ${settings.startRate}/s, doubling or halving, then bisecting to within 20%, ${settings.pointS} s per rate after ${settings.pointWarmupS} s of warm-up.`,
        `Budget: ${HOLD} × the mean footprint the ceiling's server measured (${mib(ceil.meanFootprint)}) = ${mib(budget)}; host cache ${HOST_CACHE}. Each policy run is a fresh server: ${settings.warmupS} s of warm-up (filling the budget), then ${settings.durationS} s measured.`,
        `Load average (1 min) ${loadBefore.toFixed(2)} before and ${os.loadavg()[0]!.toFixed(2)} after the run, on ${os.cpus().length} cores: other work on the machine slows loads and requests alike.`,
        `Zipf(1.0) over ${names.length} models gives the ${HOLD} most popular ${pct(topShare)} of the requests (computed from the workload, not measured): a budget of ${HOLD} that always held exactly those would still send the rest to a load, so SLO attainment above that needs most loads to finish within ${SLO_MS} ms, queueing included.`,
        'Hit rate: share of the requests that reached the server in the window which found their model loaded (shoal_model_lookups_total; a request that joined a load under way is a miss), among those that were not refused before waiting for a load; hits of all: the same hits over every request the server answered or refused (shoal_inference_requests_total), refusals before any wait (a load declined by the cost-aware policy, a load longer than the request may wait) included. Event-loop lag: the server\'s mean (shoal_event_loop_lag_seconds); tens of ms mean the cores were short for the requests as well. Loads/min: on-demand loads completed in the window. Load lane busy: seconds spent loading / seconds of window (a model\'s first load runs alone, reloads of files already measured up to two at a time, so it can pass 100%; near or over 100%, misses queue behind other models\' loads).',
        `Targets at half the ceiling's rate: cost-aware SLO attainment ≥ LRU's: **${yes(notWorse)}**; cost-aware ≥ ${pct(ATTAINMENT_TARGET)} within ${SLO_MS} ms: **${yes(reaches)}**.`,
        ...(lane && meanLoadMs !== undefined ? [`At half the ceiling's rate (${laneRate}/s, ${lane.policy}): a load took ${meanLoadMs.toFixed(0)} ms on average (onnxruntime session on a spare worker thread, warm-up), up to two at a time, so the lane completes at most about ${perS(2000 / meanLoadMs)} loads/s; it was busy ${pct(laneBusy(lane.point))} of the window, and ${pct(missRate(lane.point))} of the requests that reached the server waited for a load.`] : []),
        ...(lane && bound ? [`Why ${pct(ATTAINMENT_TARGET)} is out of reach here (an estimate from the figures above, not a proof): the budget held ${bound.resident} models at the end of ${lane.policy}'s window, and the ${bound.resident} most popular take ${pct(bound.topShare)} of the requests, the most that can find their model loaded. Every other answer within ${SLO_MS} ms needs a load that finishes within ${SLO_MS} ms of the request's arrival, so a load answers in time at most the one request that asked for it and the others for its model in those ${SLO_MS} ms: for a model less popular than those (at most ${bound.nextRate.toFixed(1)}/s each at ${laneRate}/s), ${bound.perLoad.toFixed(1)} requests. At the ${bound.loadsPerS.toFixed(1)} loads/s completed in the window that is at most ${pct(bound.fromLoads)} more, so at most about ${pct(bound.total)} within ${SLO_MS} ms; ${pct(ATTAINMENT_TARGET)} would take about ${bound.loadsNeeded.toFixed(0)} loads/s, ${meanLoadMs ? `${(bound.loadsNeeded / (2000 / meanLoadMs)).toFixed(1)}× what the lane can do at ${meanLoadMs.toFixed(0)} ms a load, two at a time, ` : ''}on a machine of ${os.cpus().length} cores that also serves the requests (or a budget holding the ~${bound.holdFor95} most popular models, which at the measured footprints is about ${mib(bound.holdFor95 * ceil.meanFootprint)}).`] : []),
      ],
    }),
    `#### Ceiling: rate search (all ${names.length} models loaded)`,
    '',
    ...table(['rate /s', 'sent', 'p50 ms', 'p99 ms', `within ${SLO_MS} ms`, 'errors', 'verdict'],
      ceil.points.map((p) => [String(p.rate), String(p.stats.sent), ms(p.stats.latencyMs?.p50, 1), ms(p.stats.latencyMs?.p99, 1), pct(p.stats.goodFraction), String(p.stats.errorCount), `${p.why ? `not sustained (${p.why})` : 'sustained'}${p.stats.generatorKeptUp ? '' : '; generator behind'}`])),
    '',
    `Highest rate sustained: **${ceil.best !== undefined ? `${ceil.unbounded ? 'at least ' : ''}${ceil.best}/s` : 'none of the rates tried'}**${ceil.unbounded && ceil.best !== undefined ? ' (the search ran out of trials before a rate failed; more `--max-trials` or a higher `--start-rate` would find the limit)' : ''}.`,
    '',
    `#### Budget of ${mib(budget)} (about ${HOLD} of ${names.length} models)`,
    '',
    ...table(['policy', 'rate /s', 'why this rate', 'requests', 'hit rate', 'hits of all', 'event-loop lag ms', 'loads/min', 'load lane busy', 'evictions', 'host-cache hits', 'p50 ms', 'p99 ms', `within ${SLO_MS} ms`, 'errors', 'client side'],
      rows.map((r) => {
        const p = r.point;
        if (!p) return [r.policy, String(r.rate), r.why, '–', '–', '–', '–', '–', '–', '–', '–', '–', '–', '–', `run failed: ${r.error ?? ''}`.slice(0, 160), '–'];
        return [r.policy, String(r.rate), r.why, String(p.stats.sent), pct(hitRate(p)), pct(hitShare(p)), ms(meanLagMs(p), 1), perS(loadsPerMin(p)), pct(laneBusy(p)), String(p.window.evictions), String(p.window.hostCacheHits),
          ms(p.stats.latencyMs?.p50, 1), ms(p.stats.latencyMs?.p99, 1), pct(p.stats.goodFraction), `${p.stats.errorCount}${p.stats.errorCount ? ` (${(trouble(p.stats) ?? '').slice(0, 120)})` : ''}`, clientSide(p.stats)];
      })),
  ].join('\n');
  if (given || policies.length < 2) {
    say(`${body}\n\n(not written to BENCHMARKS.md: --ceiling or --policies leave the section incomplete; ${(elapsedS / 60).toFixed(1)} min)`);
  } else {
    writeSection(path.join(repoRoot(), 'BENCHMARKS.md'), 'issue5', body);
    say(`wrote the ${markers('issue5').start} section of BENCHMARKS.md (${(elapsedS / 60).toFixed(1)} min)`);
  }
  rmSync(repo, { recursive: true, force: true });
}

await main();
