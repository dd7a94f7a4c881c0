/**
 * Issue 4's section: shoal against each baseline, the engine ceiling per batch size, and
 * the generator's own ceiling.
 */
import type { PointStats } from '../../src/bench/recorder.js';
import { ms, perS, ratio, sectionHead, table, yes } from '../lib/markdown.js';
import { COMPARED_TARGETS, SATURATING_CLIENTS, type ComparedTarget, type ModelComparison } from './compare.js';
import { ENGINE_CLIENTS, type EngineRow } from './engine.js';
import { TARGET_SHARE, type CeilingResult } from './generator-ceiling.js';

export interface Issue4Report {
  date: Date;
  quick: boolean;
  command: string;
  pointS: number;
  warmupS: number;
  threads: number;
  comparisons: ModelComparison[];
  engine: Array<{ model: string; dim?: number; rows: EngineRow[] }>;
  ceiling?: CeilingResult;
  ceilingError?: string;
}

const LABEL: Record<ComparedTarget, string> = {
  'shoal-json': 'shoal, JSON',
  'shoal-binary': 'shoal, binary',
  'naive-json': 'naive node:http + session.run, JSON',
  'bare-json': 'bare node:http (no model), JSON',
};

const p = (s: PointStats | undefined, q: 'p50' | 'p99'): string => ms(s?.latencyMs?.[q]);
const div = (a: number | undefined, b: number | undefined): number => (a !== undefined && b !== undefined && b > 0 ? a / b : NaN);

function comparisonTable(c: ModelComparison): string[] {
  const t = c.targets;
  const naive = t['naive-json'];
  const bare = t['bare-json'];
  const rows = COMPARED_TARGETS.map((k) => {
    const f = t[k];
    return [
      LABEL[k], p(f.single, 'p50'), p(f.single, 'p99'), perS(f.saturated?.throughputPerS), p(f.saturated, 'p99'),
      p(f.open, 'p50'), p(f.open, 'p99'), f.open ? `${perS(f.open.throughputPerS)}${f.open.generatorKeptUp ? '' : ' (generator behind)'}` : '–',
      k.startsWith('shoal') ? ratio(div(f.saturated?.throughputPerS, naive.saturated?.throughputPerS)) : '',
      k === 'bare-json' ? '' : ratio(div(f.single?.latencyMs?.p50, bare.single?.latencyMs?.p50)),
      f.trouble ? f.trouble.slice(0, 160) : '',
    ];
  });
  return [
    `##### \`${c.model}\`${c.dim !== undefined ? ` (variable dimensions ${c.dim})` : ''}: open loop at ${c.openRate ?? '–'}/s`,
    '',
    ...table(['Server', '1 client p50 ms', 'p99 ms', `${SATURATING_CLIENTS} clients req/s`, 'p99 ms', 'open p50 ms', 'open p99 ms', 'open ok/s', 'req/s ÷ naive', 'p50 ÷ bare', 'errors'], rows),
    '',
  ];
}

function engineTable(e: Issue4Report['engine'][number]): string[] {
  const rows = e.rows.map((r) => {
    const shoal = r.shoal ? r.shoal.throughputPerS * r.batch : undefined;
    return [String(r.batch), perS(r.ort?.inferencesPerS), ms(r.ort?.p50Ms, 3), perS(shoal), p(r.shoal, 'p50'), ratio(div(shoal, r.ort?.inferencesPerS)), r.trouble?.slice(0, 160) ?? ''];
  });
  return [
    `##### \`${e.model}\`${e.dim !== undefined ? ` (variable dimensions ${e.dim})` : ''}`,
    '',
    ...table(['Batch', 'ort-direct inferences/s', 'ort-direct p50 ms/run', 'shoal inferences/s', 'shoal p50 ms/request', 'shoal ÷ ort-direct', 'errors'], rows),
    '',
  ];
}

function ceilingLines(r: Issue4Report): string[] {
  const c = r.ceiling;
  if (!c) return [`Not measured: ${r.ceilingError ?? 'skipped'}`];
  const late = (s: PointStats): string => `sent ${perS(s.sentRatePerS)}/s of ${perS(s.intendedRatePerS)}/s intended; p99 lateness ${ms(s.sendLatenessMs.p99)} ms, ${(s.sendLatenessMs.lateFraction * 100).toFixed(1)}% over 10 ms late; ${s.generatorKeptUp ? 'kept up' : '**fell behind**'}${s.errorCount ? `; ${s.errorCount} errors` : ''}`;
  const half = c.open[0]!.stats;
  return [
    `Against the bare server, identity request of 16 FP32 values as JSON, ${c.seconds} s per run. Reference: \`${c.autocannonCommand}\`.`,
    '',
    ...table(['Generator', 'Load', 'ok/s', '× autocannon', 'Notes'], [
      ['autocannon', `closed, ${c.connections} connections`, perS(c.autocannonPerS), '1.00×', ''],
      ['shoal bench', `closed, ${c.connections} clients`, perS(c.closed.throughputPerS), ratio(c.closed.throughputPerS / c.autocannonPerS), `p99 ${p(c.closed, 'p99')} ms`],
      ...c.open.map((o) => ['shoal bench', `open, Poisson ${o.rate}/s`, perS(o.stats.throughputPerS), ratio(o.stats.throughputPerS / c.autocannonPerS), late(o.stats)]),
    ]),
    '',
    `Target: shoal bench sustains ≥ ${TARGET_SHARE}× autocannon's rate, i.e. sends ${c.open[0]!.rate}/s open-loop on schedule with every request answered. ` +
      `Met: **${yes(c.met)}**. The generator sustained ${perS(half.sentRatePerS)}/s open-loop (${ratio(half.sentRatePerS / c.autocannonPerS)} autocannon) and ${perS(c.closed.throughputPerS)}/s closed-loop.`,
  ];
}

export function issue4Section(r: Issue4Report): string {
  return [
    ...sectionHead({
      title: 'Issue 4: shoal against its baselines, and the generator’s own ceiling', date: r.date, quick: r.quick, command: r.command, met: r.ceiling?.met ?? false,
      notes: [
        `Every HTTP figure is measured by \`shoal bench\` (src/bench), ${r.pointS} s per point after ${r.warmupS} s of warm-up; servers run as separate processes on loopback with keep-alive. The only target of this issue is the generator ceiling; the rest are comparisons.`,
      ],
    }),
    '#### shoal, the naive server and the bare server on the example models',
    '',
    `Identical request bodies (seeded random inputs, batch 1) to each server. "1 client" is a closed loop of one client (the unloaded round trip); "${SATURATING_CLIENTS} clients" a closed loop of ${SATURATING_CLIENTS} (saturated throughput); "open" is Poisson arrivals at half the lower saturated rate of shoal (JSON) and the naive server, latency counted from the intended send time. ` +
      'shoal serves the example configs unchanged (no dynamic batching). The naive server is bench/baselines/naive-server.ts; the bare server (bench/baselines/bare-http.ts) parses the JSON and echoes the inputs without running any model, so it is a protocol ceiling, not a competitor.',
    '',
    ...r.comparisons.flatMap(comparisonTable),
    `#### Engine ceiling: onnxruntime-node in-process vs shoal, per batch size`,
    '',
    `ort-direct is bench/baselines/ort-direct.ts (one session, ${r.threads} intra-op threads, one run after another on the same feeds). shoal serves the same file with its default thread count (${r.threads}), fed requests of that batch size by a closed loop of ${ENGINE_CLIENTS} clients, binary tensors. shoal runs a model inline on the event loop with one thread when its measured compute is below ~0.1 ms (docs/architecture.md).`,
    '',
    ...r.engine.flatMap(engineTable),
    '#### Generator ceiling',
    '',
    ...ceilingLines(r),
  ].join('\n');
}
