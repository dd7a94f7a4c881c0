/**
 * Issue 2's results as the console table and the BENCHMARKS.md section.
 */
import { IDENTITY_MODEL } from '../lib/bench-models.js';
import { ratio, sectionHead, table, yes } from '../lib/markdown.js';
import type { LagResult, RoundTripResult, TargetName } from './measure.js';

export const TARGET = { jsonRatio: 1.5, binaryRatio: 1.3, p99LagS: 0.010 } as const;

export interface Issue2Report {
  date: Date;
  quick: boolean;
  command: string;
  roundTrip: RoundTripResult;
  lag: LagResult[];
}

export interface Verdicts {
  json: boolean;
  binary: boolean;
  /** One per lag run, in order. */
  lag: boolean[];
}

export function verdicts(r: Issue2Report): Verdicts {
  return {
    json: r.roundTrip.ratio.json <= TARGET.jsonRatio,
    binary: r.roundTrip.ratio.binary <= TARGET.binaryRatio,
    // No samples means the claim cannot be checked, which is not a pass.
    lag: r.lag.map((l) => l.p99LagLeS !== undefined && l.p99LagLeS <= TARGET.p99LagS),
  };
}

const LABEL: Record<TargetName, string> = {
  'shoal-json': 'shoal, JSON',
  'shoal-binary': 'shoal, binary',
  'bare-json': 'bare node:http, JSON',
  'naive-json': 'naive node:http + session.run, JSON (reference)',
};

const f3 = (x: number): string => x.toFixed(3);

function range(xs: number[]): string {
  return xs.length === 0 ? '–' : `${ratio(Math.min(...xs))} – ${ratio(Math.max(...xs))}`;
}

function lagBound(le: number | undefined, lastFinite: number): string {
  if (le === undefined) return 'no samples';
  if (!Number.isFinite(le)) return `> ${(lastFinite * 1000).toFixed(1)} ms`;
  return `≤ ${+(le * 1000).toFixed(3)} ms`;
}

function body(r: Issue2Report): string[] {
  const v = verdicts(r);
  const rt = r.roundTrip;
  const o = rt.options;
  const lagOpts = r.lag[0]?.options;
  return [
    `#### Round trip: \`${IDENTITY_MODEL}\`, 16 × FP32, one keep-alive connection, sequential requests (\`shoal bench\` closed loop, 1 client)`,
    '',
    `${o.rounds} interleaved rounds of ${o.roundS} s per target, each after ${o.warmupS} s of warm-up; every request body was sent and its answer checked to echo the input before and after the rounds. ` +
      `\`${IDENTITY_MODEL}\` is the example one-input FP32 ONNX Identity model. Each figure is the median over the rounds of that round's figure; requests is the total.`,
    '',
    ...table(
      ['Target', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'req/s', 'requests'],
      (Object.keys(LABEL) as TargetName[]).map((t) => {
        const s = rt.latency[t];
        return [LABEL[t], f3(s.p50Ms), f3(s.p90Ms), f3(s.p99Ms), f3(s.meanMs), s.perSecond.toFixed(0), String(s.count)];
      }),
    ),
    '',
    ...table(
      ['shoal p50 / bare p50', 'Median over rounds', 'Round by round (min – max)', 'Target', 'Met'],
      [
        ['JSON', ratio(rt.ratio.json), range(rt.roundRatios.json), `≤ ${ratio(TARGET.jsonRatio)}`, yes(v.json)],
        ['binary', ratio(rt.ratio.binary), range(rt.roundRatios.binary), `≤ ${ratio(TARGET.binaryRatio)}`, yes(v.binary)],
        ['naive server, JSON (reference, not judged)', ratio(rt.ratio.naive), range(rt.roundRatios.naive), '–', '–'],
      ],
    ),
    '',
    'The ratio is taken within each round (the targets ran back to back) and the target judged on the median of those ratios. ' +
      'The naive server (bench/baselines/naive-server.ts: node:http, JSON.parse, `session.run` on the event loop, JSON.stringify; no validation, queue, metrics or binary tensors) ' +
      'shows what running the model through onnxruntime-node adds to the bare round trip by itself, with nothing else a server does around it.',
    '',
    `#### Event-loop lag: \`${lagOpts?.model ?? 'cnn'}\`, \`shoal bench\` closed loop of ${lagOpts?.connections ?? '?'} clients sending binary requests, ${(lagOpts?.durationS ?? 0).toFixed(1)} s per batch size`,
    '',
    ...table(
      ['Batch', 'Inferences/s', 'Requests', 'Lag samples', 'Lag p50', 'Lag p99', 'Mean lag', 'Target p99', 'Met'],
      r.lag.map((l, i) => [
        String(l.options.batch),
        l.inferencesPerSecond.toFixed(0),
        String(l.requests),
        String(l.samples),
        lagBound(l.p50LagLeS, l.lastFiniteLeS),
        lagBound(l.p99LagLeS, l.lastFiniteLeS),
        Number.isNaN(l.meanLagS) ? '–' : `${(l.meanLagS * 1000).toFixed(2)} ms`,
        `≤ ${TARGET.p99LagS * 1000} ms`,
        yes(v.lag[i] ?? false),
      ]),
    ),
    '',
    `Lag quantiles come from shoal's \`shoal_event_loop_lag_seconds\` histogram, differenced between scrapes of /metrics taken when the load starts and after it ends; each is reported as the upper bound of the bucket that holds it (not interpolated), so "≤ X" is what the counts support.`,
  ];
}

export function issue2Section(r: Issue2Report): string {
  const v = verdicts(r);
  return [
    ...sectionHead({ title: 'Issue 2: protocol overhead and event-loop lag', date: r.date, quick: r.quick, command: r.command, met: v.json && v.binary && v.lag.every(Boolean) }),
    ...body(r),
  ].join('\n');
}
