/**
 * A single HTML file with the figures drawn as inline SVG: no script, no CDN, so it opens
 * offline and can be attached to an issue as is.
 */
import type { BenchReport, PointReport } from './runner.js';
import { escapeXml as esc, linePlot, PALETTE, type Series } from './svg.js';

const f = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

/** x = log10(1/(1-q)): 90% sits at 1, 99% at 2, 99.9% at 3, so the tail is spread out. */
const tailX = (q: number): number => -Math.log10(1 - q / 100);
const TAIL_TICKS = [0, 50, 90, 99, 99.9, 99.99].map((q) => ({ value: tailX(q), label: `${q}%` }));

function cdfPlot(points: PointReport[]): string {
  const series: Series[] = points.map((p) => ({ name: p.label, points: p.stats.percentiles.filter((x) => x.q < 100).map((x) => [tailX(x.q), x.ms]) }));
  return linePlot({ title: 'Latency by percentile (CDF, tail stretched)', xLabel: 'percentile', yLabel: 'latency (ms)', series, xTicks: TAIL_TICKS, logY: true });
}

function timelinePlots(p: PointReport, warmupS: number): string {
  const bins = p.stats.timeline;
  const binS = p.stats.binMs / 1000;
  const mid = (t: number): number => t + binS / 2;
  const lat: Series[] = [
    { name: 'max', points: bins.filter((b) => b.maxMs !== undefined).map((b) => [mid(b.tS), b.maxMs!]), color: PALETTE[3] },
    { name: 'p99', points: bins.filter((b) => b.p99Ms !== undefined).map((b) => [mid(b.tS), b.p99Ms!]), color: PALETTE[1] },
    { name: 'p50', points: bins.filter((b) => b.p50Ms !== undefined).map((b) => [mid(b.tS), b.p50Ms!]), color: PALETTE[0], dashed: true },
  ];
  const rate: Series[] = [
    { name: 'sent/s', points: bins.map((b) => [mid(b.tS), b.sent / binS]), color: PALETTE[0], dashed: true },
    { name: 'ok/s', points: bins.map((b) => [mid(b.tS), b.ok / binS]), color: PALETTE[2] },
    { name: 'errors/s', points: bins.map((b) => [mid(b.tS), b.errors / binS]), color: PALETTE[1] },
  ];
  const shade: [number, number] | undefined = warmupS > 0 ? [0, warmupS] : undefined;
  const by = 'by intended send time';
  return linePlot({ title: `${p.label}: latency over time (${by}; grey = warm-up)`, xLabel: 's', yLabel: 'latency (ms)', series: lat, logY: true, ...(shade ? { shade } : {}), height: 260 })
    + linePlot({ title: `${p.label}: requests over time`, xLabel: 's', yLabel: 'per second', series: rate, ...(shade ? { shade } : {}), height: 220 });
}

function sweepPlots(r: BenchReport): string {
  const pts = r.points.filter((p) => p.stats.latencyMs);
  const curve: Series[] = [
    { name: 'p99', points: pts.map((p) => [p.stats.throughputPerS, p.stats.latencyMs!.p99]), color: PALETTE[1] },
    { name: 'p50', points: pts.map((p) => [p.stats.throughputPerS, p.stats.latencyMs!.p50]), color: PALETTE[0], dashed: true },
  ];
  let html = linePlot({ title: 'Throughput–latency curve', xLabel: 'answered per second', yLabel: 'latency (ms)', series: curve, logY: true });
  if (r.settings.mode === 'rate') {
    const offered: Series[] = [
      { name: 'ok/s', points: r.points.map((p) => [p.rate!, p.stats.throughputPerS]), color: PALETTE[2] },
      { name: 'offered', points: r.points.map((p) => [p.rate!, p.rate!]), color: '#999', dashed: true },
    ];
    if (r.points.some((p) => p.stats.goodputPerS !== undefined)) offered.push({ name: `within ${r.settings.sloMs ?? 'deadline'} ms`, points: r.points.map((p) => [p.rate!, p.stats.goodputPerS ?? 0]), color: PALETTE[4] });
    html += linePlot({ title: 'Throughput and goodput against offered load', xLabel: 'offered requests per second', yLabel: 'per second', series: offered });
  }
  return html;
}

function summaryTable(r: BenchReport): string {
  const head = ['load', 'intended/s', 'sent/s', 'ok/s', 'good/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'errors', 'late p99'];
  const rows = r.points.map((p) => {
    const t = p.stats;
    const l = t.latencyMs;
    return [p.label, f(t.intendedRatePerS), f(t.sentRatePerS), f(t.throughputPerS), f(t.goodputPerS), f(l?.p50, 2), f(l?.p90, 2), f(l?.p99, 2), f(l?.p999, 2), f(l?.max, 2), String(t.errorCount), f(t.sendLatenessMs.p99, 2)];
  });
  return `<table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table><p class="small">Latencies in ms, counted from each request's intended send time (open loop) or its send (closed loop); "late p99" is how late the generator sent its requests.</p>`;
}

function notes(r: BenchReport): string {
  const items: string[] = [];
  for (const p of r.points) {
    for (const [kind, e] of Object.entries(p.stats.errors)) items.push(`<li><b>${esc(p.label)}</b>: ${e.count} × ${esc(kind)} — e.g. <code>${esc(e.sample.slice(0, 160))}</code></li>`);
    for (const w of p.stats.warnings) items.push(`<li><b>${esc(p.label)}</b>: ${esc(w)}</li>`);
  }
  return items.length ? `<h2>Errors and notes</h2><ul>${items.join('')}</ul>` : '';
}

export function htmlReport(r: BenchReport): string {
  const s = r.settings;
  const models = r.target.models.map((m) => `<li><b>${esc(m.name)}</b>: ${m.inputs.map((t) => esc(`${t.name} ${t.datatype}[${t.shape.join(',')}]`)).join(', ')} — ${m.requestBytes} B per request</li>`).join('');
  const settings = `${esc(r.points[0]?.workload ?? '')}; ${s.mode === 'trace' ? '' : `${s.durationS} s measured per point, `}${s.warmupS} s warm-up; ${s.connections} connections; seed ${s.seed}${s.sloMs !== undefined ? `; SLO ${s.sloMs} ms` : ''}; ${r.target.binary ? 'binary' : 'JSON'} tensors`;
  const timelines = r.points.slice(0, 8).map((p) => timelinePlots(p, s.warmupS)).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shoal bench — ${esc(r.target.url)}</title>
<style>body{font-family:sans-serif;max-width:1320px;margin:1.5em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
.small{font-size:12px;color:#555}svg{margin:6px 8px 6px 0;vertical-align:top}code{font-size:12px}</style></head><body>
<h1>shoal bench</h1>
<p>${esc(r.target.url)} · started ${esc(r.startedAt)}${r.command ? ` · <code>${esc(r.command)}</code>` : ''}</p>
<p class="small">${settings}</p><ul class="small">${models}</ul>
${summaryTable(r)}
${notes(r)}
<h2>Latency distribution</h2>${cdfPlot(r.points)}
${r.points.length > 1 ? `<h2>Sweep</h2>${sweepPlots(r)}` : ''}
<h2>Over time</h2>${timelines}
</body></html>
`;
}
