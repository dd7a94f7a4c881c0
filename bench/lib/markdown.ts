/**
 * BENCHMARKS.md is shared: each section of it lives between its own pair of markers, and a
 * run replaces only the sections it measured, leaving the others (and any prose) as they are.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { cpusAllowed, serverCpus } from './process.js';

export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  const split = serverCpus();
  const placed = split === undefined ? '' : `; servers on CPUs ${split}, the load generator and onnxruntime-node direct on CPUs ${cpusAllowed() ?? '(unknown)'}`;
  return `${cpu}, ${os.cpus().length} cores, ${gib} GiB memory, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}${placed}`;
}

export const markers = (name: string): { start: string; end: string } => ({
  start: `<!-- bench:${name}:start -->`,
  end: `<!-- bench:${name}:end -->`,
});

const INTRO = `# Benchmarks

Everything between the \`bench:\` markers below is written by \`npm run bench\` (see \`bench/\`);
do not edit it by hand. The machine these runs use is shared and noisy, so targets are ratios
against a baseline measured in the same run, not absolute figures.
`;

/** Replaces section `name` of `file`, appending it (or creating the file) if it is not there yet. */
export function writeSection(file: string, name: string, body: string): void {
  const { start: MARK_START, end: MARK_END } = markers(name);
  const block = `${MARK_START}\n${body.trimEnd()}\n${MARK_END}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : INTRO;
  const start = text.indexOf(MARK_START);
  const end = text.indexOf(MARK_END);
  const next = start >= 0 && end > start
    ? text.slice(0, start) + block + text.slice(end + MARK_END.length)
    : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

/** A cell may hold a server's error message: keep its pipes and line breaks from breaking the table. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

export function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.map(cell).join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

/** The head every section starts with: what, when, where, how to rerun it, and the verdict. */
export function sectionHead(o: { title: string; date: Date; quick: boolean; command: string; met: boolean | undefined; notes?: string[] }): string[] {
  return [
    `### ${o.title}`,
    '',
    `- Date: ${o.date.toISOString()}${o.quick ? ' (quick smoke run: too short to trust)' : ''}`,
    `- Machine: ${machine()}`,
    `- Command: \`${o.command}\``,
    ...(o.met === undefined ? [] : [`- All targets met: **${yes(o.met)}**`]),
    ...(o.notes ?? []).map((n) => `- ${n}`),
    '',
  ];
}

export const yes = (b: boolean | undefined): string => (b === undefined ? '–' : b ? 'yes' : 'no');
export const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
export const ms = (x: number | undefined, digits = 2): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
export const perS = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
export const mib = (bytes: number | undefined): string => (bytes === undefined ? '–' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
