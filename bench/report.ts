/**
 * Turning one run's results into the console table and the BENCHMARKS.md section.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { IDENTITY_MODEL } from './lib/bench-models.js';
import type { LagResult, RoundTripResult, TargetName } from './latency.js';

export const TARGET = { jsonRatio: 1.5, binaryRatio: 1.3, p99LagS: 0.010 } as const;

export interface RunReport {
  date: Date;
  quick: boolean;
  command: string;
  roundTrip: RoundTripResult;
  lag: LagResult[];
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${cpu}, ${os.cpus().length} cores, ${gib} GiB memory, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}`;
}

export interface Verdicts {
  json: boolean;
  binary: boolean;
  /** One per lag run, in order. */
  lag: boolean[];
}

export function verdicts(r: RunReport): Verdicts {
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
};

const f3 = (x: number): string => x.toFixed(3);
const ratio = (x: number): string => `${x.toFixed(2)}×`;
const yes = (b: boolean): string => (b ? 'yes' : 'no');

function range(xs: number[]): string {
  return xs.length === 0 ? '–' : `${ratio(Math.min(...xs))} – ${ratio(Math.max(...xs))}`;
}

function lagBound(le: number | undefined, lastFinite: number): string {
  if (le === undefined) return 'no samples';
  if (!Number.isFinite(le)) return `> ${(lastFinite * 1000).toFixed(1)} ms`;
  return `≤ ${+(le * 1000).toFixed(3)} ms`;
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function sections(r: RunReport): string[] {
  const v = verdicts(r);
  const rt = r.roundTrip;
  const o = rt.options;
  const lagOpts = r.lag[0]?.options;
  return [
    `#### Round trip: \`${IDENTITY_MODEL}\`, 16 × FP32, one keep-alive connection, sequential requests`,
    '',
    `${o.rounds} interleaved rounds of ${o.requestsPerRound} requests per target, after ${o.warmup} warm-up requests each; every reply checked to echo the input. ` +
      `\`${IDENTITY_MODEL}\` is the example one-input FP32 ONNX Identity model.`,
    '',
    ...table(
      ['Target', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'req/s'],
      (Object.keys(LABEL) as TargetName[]).map((t) => {
        const s = rt.latency[t];
        return [LABEL[t], f3(s.p50Ms), f3(s.p90Ms), f3(s.p99Ms), f3(s.meanMs), s.perSecond.toFixed(0)];
      }),
    ),
    '',
    ...table(
      ['shoal p50 / bare p50', 'All rounds pooled', 'Round by round (min – max)', 'Target', 'Met'],
      [
        ['JSON', ratio(rt.ratio.json), range(rt.roundRatios.json), `≤ ${ratio(TARGET.jsonRatio)}`, yes(v.json)],
        ['binary', ratio(rt.ratio.binary), range(rt.roundRatios.binary), `≤ ${ratio(TARGET.binaryRatio)}`, yes(v.binary)],
      ],
    ),
    '',
    'The target is judged on the pooled medians; the round-by-round ratios show how far noise moved it, and the pooled figure need not fall inside their range.',
    '',
    `#### Event-loop lag: \`${lagOpts?.model ?? 'cnn'}\`, back-to-back binary requests from ${lagOpts?.connections ?? '?'} connections, ${((lagOpts?.durationMs ?? 0) / 1000).toFixed(1)} s per batch size`,
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
    `Lag quantiles come from shoal's \`shoal_event_loop_lag_seconds\` histogram, differenced between scrapes of /metrics taken before and after each load; each is reported as the upper bound of the bucket that holds it (not interpolated), so "≤ X" is what the counts support.`,
  ];
}

export function consoleReport(r: RunReport): string {
  return [`shoal bench${r.quick ? ' (quick)' : ''}: ${machine()}`, '', ...sections(r)].join('\n');
}

export function markdownSection(r: RunReport): string {
  const v = verdicts(r);
  const all = v.json && v.binary && v.lag.every(Boolean);
  return [
    `### Issue 2: protocol overhead and event-loop lag`,
    '',
    `- Date: ${r.date.toISOString()}${r.quick ? ' (quick smoke run: too short to trust)' : ''}`,
    `- Machine: ${machine()}`,
    `- Command: \`${r.command}\``,
    `- All targets met: **${yes(all)}**`,
    '',
    ...sections(r),
  ].join('\n');
}

export const MARK_START = '<!-- bench:issue2:start -->';
export const MARK_END = '<!-- bench:issue2:end -->';

const INTRO = `# Benchmarks

Everything between the \`bench:\` markers below is written by \`npm run bench\` (see \`bench/\`);
do not edit it by hand. The machine these runs use is shared and noisy, so targets are ratios
against a baseline measured in the same run, not absolute figures.
`;

/** Replaces the marked section of `file`, appending the markers (or creating the file) if missing. */
export function writeSection(file: string, body: string): void {
  const block = `${MARK_START}\n${body}\n${MARK_END}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : INTRO;
  const start = text.indexOf(MARK_START);
  const end = text.indexOf(MARK_END);
  const next = start >= 0 && end > start
    ? text.slice(0, start) + block + text.slice(end + MARK_END.length)
    : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}
