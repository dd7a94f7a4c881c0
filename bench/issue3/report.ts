/**
 * Issue 3's section: batching off vs on, the CNN against the engine, and overload.
 */
import { mib, ms, perS, ratio, sectionHead, table, yes } from '../lib/markdown.js';
import { cpusAllowed, serverCpus } from '../lib/process.js';
import { describeShares, type ThreadGroupShare } from '../lib/threads.js';
import { describeSplit } from '../lib/compute-split.js';
import { BATCHING_TARGET, HINT_CLIENTS, MARGIN, P99_OBJECTIVE_MS, SEARCH_RESOLUTION, type BatchingResult } from './batching.js';
import { ENGINE_TARGET, type CnnCeiling } from './engine.js';
import { describeCost, perRequestMs, type BatchingCeiling, type EngineCeiling, type OverloadBound } from './http-cost.js';
import { bestGoodputPoint, CAPACITY_CLIENTS, OVERLOAD, type OverloadResult } from './overload.js';
import { CNN_INSTANCES, DYNAMIC_BATCHING } from './repos.js';

export interface Issue3Report {
  date: Date;
  quick: boolean;
  command: string;
  pointS: number;
  warmupS: number;
  batching: Array<{ model: string; dim?: number; off?: BatchingResult; on?: BatchingResult; error?: string; ceiling?: BatchingCeiling }>;
  cnn?: CnnCeiling;
  cnnError?: string;
  /** Measured when the CNN's target was not met: what its requests' floor leaves room for. */
  cnnBound?: EngineCeiling;
  overload?: OverloadResult;
  overloadError?: string;
  overloadBound?: OverloadBound;
  /** The full-length overload run, for the note when this run used a shorter one. */
  fullOverloadS: number;
}

const gain = (b: Issue3Report['batching'][number]): number => (b.on?.best ?? NaN) / (b.off?.best ?? NaN);

export function verdicts(r: Issue3Report): { batching: boolean[]; cnn: boolean; overload?: { goodput: boolean; flat: boolean; answered: boolean } } {
  const o = r.overload;
  return {
    // With batching off finding no passing rate at all, any passing rate with it on is an unbounded gain.
    batching: r.batching.map((b) => (b.on?.best !== undefined && b.off !== undefined && b.off.best === undefined) || gain(b) >= BATCHING_TARGET),
    cnn: r.cnn !== undefined && r.cnn.ratio >= ENGINE_TARGET,
    ...(o ? { overload: { goodput: o.goodputRatio >= OVERLOAD.goodputTarget, flat: o.memory.flat, answered: o.counts.unanswered === 0 && o.counts.otherErrors === 0 && o.counts.sent === o.counts.answered + o.counts.refused } } : {}),
  };
}

function searchTrail(b: BatchingResult | undefined): string {
  if (!b) return '–';
  return b.points.map((p) => `${p.rate}: ${p.pass ? 'ok' : p.why ?? 'fail'}${p.again ? ` (twice: p99 ${ms(p.stats.latencyMs?.p99)} and ${ms(p.again.latencyMs?.p99)} ms)` : ''}${p.stats.generatorKeptUp ? '' : ' (generator behind)'}`).join('; ');
}

function batchingLines(r: Issue3Report, v: ReturnType<typeof verdicts>): string[] {
  const rows = r.batching.flatMap((b, i) => {
    if (b.error) return [[`\`${b.model}\``, '–', '–', '–', '–', '–', b.error.slice(0, 200)]];
    const row = (x: BatchingResult | undefined, label: string): string[] => {
      const at = x?.points.find((p) => p.rate === x.best);
      return [`\`${b.model}\`${b.dim !== undefined ? ` (seq ${b.dim})` : ''}, batching ${label}`, perS(x?.hintPerS), x?.best !== undefined ? String(x.best) : 'none passed', ms(at?.p99Ms ?? at?.stats.latencyMs?.p99), ms(at?.stats.latencyMs?.p50), '', searchTrail(x)];
    };
    const on = row(b.on, 'on');
    // Batching off met the objective at no rate tried: the gain is at least on's rate over the lowest rate off tried.
    const lowestOff = b.off && b.off.best === undefined && b.off.points.length ? Math.min(...b.off.points.map((p) => p.rate)) : undefined;
    const shown = lowestOff !== undefined && b.on?.best !== undefined ? `> ${ratio(b.on.best / lowestOff)}` : ratio(gain(b));
    on[5] = `${shown} (met: ${yes(v.batching[i])})`;
    return [row(b.off, 'off'), on];
  });
  return [
    `#### (a) Dynamic batching off vs on: highest Poisson rate with p99 < ${P99_OBJECTIVE_MS} ms`,
    '',
    `Two shoal servers from the same build: the example configs (no \`dynamic_batching\`: each request runs alone) and the same with \`dynamic_batching: ${JSON.stringify(DYNAMIC_BATCHING)}\`. ` +
      `\`shoal bench\` sends batch-1 binary requests with Poisson arrivals, ${r.pointS} s per rate after ${r.warmupS} s of warm-up. The search starts at half the rate a closed loop of ${HINT_CLIENTS} clients reaches, doubles or halves until one rate passes and a higher one fails, then bisects geometrically to within ${Math.round((SEARCH_RESOLUTION - 1) * 100)}% (bench/lib/rate-search.ts). A rate passes when p99 < ${P99_OBJECTIVE_MS} ms and no request failed; a rate whose p99 lands within ${MARGIN}× of the objective either way is measured twice and judged by the mean of the two p99s (bench/issue3/batching.ts says why); latency counts from each request's intended send time, so when the generator fell behind (marked) its lateness is in the p99. Target: with batching ≥ ${BATCHING_TARGET}× without.`,
    '',
    ...table(['Model, config', 'closed-loop req/s', 'best rate /s', 'p99 ms there', 'p50 ms there', 'on ÷ off', 'rates tried (/s)'], rows),
    '',
    ...r.batching.flatMap((b) => (b.ceiling && b.off?.best !== undefined ? batchingCeilingLines(b.model, b.off.best, b.ceiling) : [])),
  ];
}

/** What the cores allow for a model whose target was not met (bench/issue3/http-cost.ts). */
function batchingCeilingLines(model: string, offBest: number, c: BatchingCeiling): string[] {
  return [
    `What \`${model}\` could reach here at most: ${BATCHING_TARGET}× the rate without batching is ${perS(BATCHING_TARGET * offBest)}/s. ` +
      `A run of requests refused before any inference (every deadline 1 µs, so shoal refuses each at admission; bench/issue3/http-cost.ts): ${describeCost(c.cost)}. ` +
      `onnxruntime alone, one thread, batches of ${c.ort.batch}: ${perS(c.ort.inferencesPerS)} sequences/s, ${(1000 / c.ort.inferencesPerS).toFixed(3)} ms of CPU each. ` +
      `With every request in a full batch and every one of the ${c.cost.cores} cores busy, that allows at most **${perS(c.maxRatePerS)}/s = ${ratio(c.ratio)}** the rate without batching (an answered request also crosses to a session thread and back, so the true ceiling is lower).`,
    '',
  ];
}

function arrangement(a: { sessions: number; threads: number }): string {
  return a.sessions === 1 ? `one session, ${a.threads} intra-op thread${a.threads > 1 ? 's' : ''}` : `${a.sessions} sessions of ${a.threads} thread${a.threads > 1 ? 's' : ''} running at once, each on its own worker thread`;
}

function cnnLines(r: Issue3Report, v: ReturnType<typeof verdicts>): string[] {
  const c = r.cnn;
  if (!c) return ['#### (b) CNN through shoal ÷ onnxruntime-node in-process', '', `Not measured: ${r.cnnError ?? 'skipped'}`, ''];
  return [
    '#### (b) CNN through shoal ÷ onnxruntime-node in-process, at its best batch size',
    '',
    `shoal serves the CNN as ${CNN_INSTANCES} instance${CNN_INSTANCES > 1 ? 's' : ''} of ${Math.max(1, Math.floor(c.threads / CNN_INSTANCES))} intra-op thread${c.threads / CNN_INSTANCES >= 2 ? 's' : ''} each (bench/issue3/repos.ts says why). onnxruntime-node direct (bench/baselines/ort-direct.ts) with the same ${c.threads} threads, inferences/s by batch size:`,
    '',
    ...c.ort.map((a) => `- ${arrangement(a)}: ` + a.figures.map((f) => `${f.batch}: ${perS(f.inferencesPerS)}`).join(', ')),
    '',
    `Best: ${arrangement(c.best)}, batch ${c.best.batch}, **${perS(c.best.inferencesPerS)}/s**.`,
    '',
    ...table(['shoal (dynamic batching on), closed loop, binary', 'inferences/s', 'p99 ms/request', '÷ ort-direct best'], c.loads.map((l) => [
      `${l.clients} clients, ${l.batch} image${l.batch > 1 ? 's' : ''} per request${l === c.saturated ? ' (saturated: the highest)' : ''}`,
      perS(l.inferencesPerS), ms(l.stats.latencyMs?.p99), ratio(l.inferencesPerS / c.best.inferencesPerS),
    ])),
    '',
    `Saturated throughput through shoal ÷ ort-direct at its best batch size: **${ratio(c.ratio)}**; target ≥ ${ENGINE_TARGET}; met: **${yes(v.cnn)}**.`,
    '',
    ...(c.trouble ? [`Errors: ${c.trouble}`, ''] : []),
    serverCpus() === undefined
      ? 'The load generator shares the machine\'s cores with the server, as any client on the same host would; ort-direct runs alone.'
      : `The servers ran on CPUs ${serverCpus()} and the load generator on others (CPUs ${cpusAllowed() ?? '?'}), as many, where ort-direct also ran, alone.`,
    '',
    ...threadLines(`Where the cores went during the saturated load (${c.saturated.clients} clients, ${c.saturated.batch} images per request)`, c.saturated.threads),
    ...(r.cnnBound ? [
      `What the cores allow: the same requests refused before any inference (every deadline 1 µs; bench/issue3/http-cost.ts): ${describeCost(r.cnnBound.cost)}. ` +
        `With each image also costing its share of ort-direct's best (${c.threads} cores ÷ ${perS(c.best.inferencesPerS)}/s) and every core busy, shoal could pass at most **${perS(r.cnnBound.maxInferencesPerS)} inferences/s = ${ratio(r.cnnBound.ratio)}** ort-direct's best here.`,
      '',
      ...(r.cnnBound.bare ? [
        `The same requests refused by a bare node:http server that reads each body, parses its JSON header and answers 429 (bench/baselines/bare-refuser.ts): ${describeCost(r.cnnBound.bare.cost)}: ` +
          `shoal's floor is ${ratio(r.cnnBound.cost.serverMs / r.cnnBound.bare.cost.serverMs)} the bare server's in server CPU. At the bare floor the cores would allow ${perS(r.cnnBound.bare.maxInferencesPerS)} inferences/s = ${ratio(r.cnnBound.bare.ratio)} ort-direct's best.`,
        '',
      ] : []),
    ] : []),
  ];
}

function overloadLines(r: Issue3Report, v: ReturnType<typeof verdicts>): string[] {
  const o = r.overload;
  const head = `#### (c) ${OVERLOAD.factor}× overload with deadlines`;
  if (!o || !v.overload) return [head, '', `Not measured: ${r.overloadError ?? 'skipped'}`, ''];
  const m = o.model;
  const s = o.stats;
  const c = o.counts;
  // One sample answer per kind, so a reader sees why requests were refused.
  const best = bestGoodputPoint(o);
  const errorKinds = Object.entries(s.errors).map(([k, e]) => `${k}: ${e.count} (e.g. \`${e.sample.slice(0, 240).replace(/`/g, "'")}\`)`).join('; ') || 'none';
  return [
    head,
    '',
    `\`${m.model}\`${m.dim !== undefined ? ` (seq ${m.dim})` : ''}, ${m.batch} per request, binary, dynamic batching on, served as ${CNN_INSTANCES} instance${CNN_INSTANCES > 1 ? 's' : ''} of one intra-op thread each (bench/issue3/repos.ts says why); every request carries \`parameters.deadline_ms: ${OVERLOAD.deadlineMs}\`, and goodput counts answers within it. ` +
      `Capacity: ${perS(o.capacityPerS)} req/s (closed loop of ${CAPACITY_CLIENTS} clients, no deadlines). Best goodput below overload, over Poisson rates ${o.sweep.map((p) => `${p.rate}/s → ${p.stats ? perS(p.stats.goodputPerS) : `not measured (${p.error?.slice(0, 200)})`}`).join(', ')}: **${perS(o.bestGoodputPerS)}/s**. ` +
      `Overload: Poisson at ${o.rate}/s (${OVERLOAD.factor}× ${perS(o.answeredPerS)}/s, the most answered per second at any load above) for ${o.durationS} s, no warm-up.` +
      (o.durationS < r.fullOverloadS ? ` This run used ${o.durationS} s instead of ${r.fullOverloadS} s to keep \`npm run bench\` short; \`npm run bench -- --only issue3 --overload-seconds ${r.fullOverloadS}\` runs the full length.` : ''),
    '',
    ...table(['Figure', 'Measured', 'Target', 'Met'], [
      ['goodput under overload', `${perS(s.goodputPerS)}/s = ${ratio(o.goodputRatio)} best`, `≥ ${OVERLOAD.goodputTarget}× best`, yes(v.overload.goodput)],
      ['resident memory (start / middle / end / max)', `${mib(o.memory.start)} / ${mib(o.memory.middle)} / ${mib(o.memory.end)} / ${mib(o.memory.max)}`, `end ≤ middle + ${OVERLOAD.flatGrowth * 100}%`, yes(v.overload.flat)],
      ['requests sent / answered 200 / refused 429·503 / other errors / no answer', `${c.sent} / ${c.answered} / ${c.refused} / ${c.otherErrors} / ${c.unanswered}`, 'sent = answered + refused', yes(v.overload.answered)],
      ['generator', `sent ${perS(s.sentRatePerS)}/s of ${perS(s.intendedRatePerS)}/s; ${s.generatorKeptUp ? 'kept up' : 'fell behind'}; p99 lateness ${ms(s.sendLatenessMs.p99)} ms`, '', ''],
      ['latency of answers (p50 / p99)', `${ms(s.latencyMs?.p50)} / ${ms(s.latencyMs?.p99)} ms`, '', ''],
    ]),
    '',
    `Answers by kind: 200: ${s.ok}; ${errorKinds}. Memory is the server process's VmRSS (/proc), sampled every second.`,
    '',
    ...threadLines(`Where the cores went at the best goodput (${best?.rate ?? '–'}/s)`, best?.threads),
    ...threadLines(`Where the cores went during the overload (${o.rate}/s)`, o.threads),
    ...splitLines(best?.rate, best?.split, o),
    ...(r.overloadBound ? overloadBoundLines(o, r.overloadBound) : []),
  ];
}

function overloadBoundLines(o: OverloadResult, b: OverloadBound): string[] {
  const share = (perS_: number): string => `${perS(perS_)}/s of goodput = ${ratio(perS_ / b.bestGoodputPerS)}`;
  return [
    `What the cores allow: the same requests at the overload's rate, refused before any inference (every deadline 1 µs; bench/issue3/http-cost.ts): ${describeCost(b.cost)}. ` +
      `At ${o.rate}/s, good answers and refusals together fit in the ${b.cost.cores} cores, every one of them counted as usable, only up to:`,
    '',
    `- ${share(b.floorMaxPerS)} the best, if a good answer cost no more than a refusal plus its ${o.model.batch} sequences at onnxruntime's own rate (one thread, batches of ${b.ort.batch}: ${perS(b.ort.inferencesPerS)}/s), ${b.floorGoodMs.toFixed(2)} ms of CPU: a ceiling no server could pass here;`,
    `- ${share(b.measuredMaxPerS)} the best, at the ${b.measuredGoodMs.toFixed(2)} ms of CPU that server and generator spent per good answer at the best goodput (its refusals' floor taken out): where this build stands.`,
    '',
    ...(b.bare ? bareLines(b, b.bare, share) : []),
  ];
}

/** How much of the refusal floor is shoal's own: the same refusals from a bare node:http server. */
function bareLines(b: OverloadBound, bare: NonNullable<OverloadBound['bare']>, share: (perS: number) => string): string[] {
  const own = perRequestMs(b.cost) - perRequestMs(bare.cost);
  return [
    `The same refusals from a bare node:http server that reads each body, parses its JSON header and answers 429 (bench/baselines/bare-refuser.ts): ${describeCost(bare.cost)}. ` +
      `shoal's own share of its floor is ${(b.cost.serverMs - bare.cost.serverMs).toFixed(3)} ms of server CPU per request ` +
      `(${ratio(b.cost.serverMs / bare.cost.serverMs)} the bare server's), ${own.toFixed(3)} ms with the generator's. ` +
      `If every request, refused or answered, cost shoal no more than that outside inference, this build's CPU per good answer would leave room for ${share(bare.maxPerS)} the best.`,
    '',
  ];
}

/**
 * The thread groups' shares of the cores over a load (bench/lib/threads.ts): session threads
 * asleep would mean the server left inference idle; waiting, that the cores were taken.
 */
function threadLines(title: string, shares: ThreadGroupShare[] | undefined): string[] {
  if (!shares) return [];
  return [`${title}, from the kernel's per-thread scheduler statistics (cores' worth of time; bench/lib/threads.ts):`, '', ...describeShares(shares).map((l) => `- ${l}`), ''];
}

export function issue3Section(r: Issue3Report): string {
  const v = verdicts(r);
  const all = v.batching.every(Boolean) && v.cnn && v.overload !== undefined && Object.values(v.overload).every(Boolean);
  return [
    ...sectionHead({
      title: 'Issue 3: dynamic batching, engine ceiling, overload', date: r.date, quick: r.quick, command: r.command, met: all,
      notes: ['Load from `shoal bench` (src/bench), on loopback, against shoal servers started from dist/ by this run.'],
    }),
    ...batchingLines(r, v),
    ...cnnLines(r, v),
    ...overloadLines(r, v),
  ].join('\n');
}

/**
 * The model's batches at the best goodput and in the overload, from the server's statistics
 * extension: how much of each batch's time was the model's and how much the hand-offs'.
 */
function splitLines(bestRate: number | undefined, best: OverloadResult['split'], o: OverloadResult): string[] {
  if (!best && !o.split) return [];
  return [
    'Where each batch\'s time went, from the server\'s statistics extension (/v2/models/…/stats, read before and after; bench/lib/compute-split.ts):',
    '',
    ...(best ? [`- at the best goodput (${bestRate ?? '–'}/s): ${describeSplit(best)}`] : []),
    ...(o.split ? [`- during the overload (${o.rate}/s): ${describeSplit(o.split)}`] : []),
    '',
  ];
}
