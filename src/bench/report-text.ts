/** The console summary: one row per load point, then errors and warnings in words. */
import type { BenchReport } from './runner.js';

const f = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function consoleReport(r: BenchReport): string {
  const s = r.settings;
  const lines: string[] = [];
  lines.push(`shoal bench → ${r.target.url} (${r.target.binary ? 'binary' : 'JSON'} tensors, ${s.connections} connections, seed ${s.seed})`);
  for (const m of r.target.models) lines.push(`  ${m.name}: ${m.inputs.map((t) => `${t.name} ${t.datatype}[${t.shape.join(',')}]`).join(', ')} (${m.requestBytes} B/request)`);
  lines.push(`  ${s.mode === 'trace' ? 'trace replay' : `${s.durationS} s measured`} after ${s.warmupS} s warm-up${s.sloMs !== undefined ? `, SLO ${s.sloMs} ms` : ''}`);
  lines.push('');
  const goodput = r.points.some((p) => p.stats.goodputPerS !== undefined);
  const head = ['load', 'intended/s', 'sent/s', 'ok/s', ...(goodput ? ['good/s'] : []), 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'errors', 'late p99 ms'];
  const rows = r.points.map((p) => {
    const t = p.stats;
    const l = t.latencyMs;
    return [
      p.label, s.mode === 'concurrency' ? '–' : f(t.intendedRatePerS), f(t.sentRatePerS), f(t.throughputPerS),
      ...(goodput ? [f(t.goodputPerS)] : []),
      f(l?.p50, 2), f(l?.p90, 2), f(l?.p99, 2), f(l?.p999, 2), f(l?.max, 2),
      String(t.errorCount), s.mode === 'concurrency' ? '–' : f(t.sendLatenessMs.p99, 2),
    ];
  });
  lines.push(table(head, rows));
  for (const p of r.points) {
    const models = Object.entries(p.stats.byModel);
    if (models.length > 1) {
      lines.push('', `${p.label} by model:`);
      for (const [name, m] of models) lines.push(`  ${name}: ${m.ok} ok, ${m.errors} errors, p50 ${f(m.p50Ms, 2)} ms, p99 ${f(m.p99Ms, 2)} ms`);
    }
    const errors = Object.entries(p.stats.errors);
    if (errors.length > 0) {
      lines.push('', `${p.label} errors:`);
      for (const [kind, e] of errors) lines.push(`  ${kind}: ${e.count} (e.g. ${e.sample.replace(/\s+/g, ' ').slice(0, 120)})`);
    }
    for (const w of p.stats.warnings) lines.push('', `${p.label}: note: ${w}`);
  }
  return lines.join('\n');
}
