/**
 * Line plots as inline SVG strings: enough axes, ticks and legend to read a benchmark, with
 * no script and no external font or stylesheet, so the report opens offline.
 */

export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** Dashed lines for secondary series (p50 next to p99, say). */
  dashed?: boolean;
  color?: string;
}

export interface Tick {
  value: number;
  label: string;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Fixed ticks (for transformed axes); otherwise round numbers are chosen. */
  xTicks?: Tick[];
  logY?: boolean;
  /** Shaded x-range, e.g. the warm-up. */
  shade?: [number, number];
  width?: number;
  height?: number;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Round-number ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): Tick[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: Tick[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push({ value: v, label: fmt(v) });
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  if (a >= 1) return String(+v.toFixed(2));
  return String(+v.toPrecision(2));
}

function logTicks(lo: number, hi: number): Tick[] {
  const ticks: Tick[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * Math.pow(10, e);
      if (v >= lo && v <= hi) ticks.push({ value: v, label: fmt(v) });
    }
  }
  return ticks;
}

export function linePlot(p: PlotSpec): string {
  const W = p.width ?? 640;
  const H = p.height ?? 320;
  const m = { l: 64, r: 30, t: 28, b: 44 };
  const all = p.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logY || y > 0));
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60"><text x="8" y="30" font-family="sans-serif" font-size="13">${escapeXml(p.title)}: no data</text></svg>`;
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  let [x0, x1] = [Math.min(...xs, ...(p.xTicks ?? []).map((t) => t.value)), Math.max(...xs)];
  if (p.shade) x0 = Math.min(x0, p.shade[0]);
  if (x1 <= x0) x1 = x0 + 1;
  let y0 = p.logY ? Math.min(...ys) : 0;
  let y1 = Math.max(...ys);
  if (p.logY) [y0, y1] = [Math.pow(10, Math.floor(Math.log10(y0))), Math.pow(10, Math.ceil(Math.log10(y1 * 1.0001)))];
  else y1 = y1 * 1.05 || 1;
  const ty = (y: number): number => (p.logY ? Math.log10(y) : y);
  const sx = (x: number): number => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number): number => H - m.b - ((ty(y) - ty(y0)) / (ty(y1) - ty(y0) || 1)) * (H - m.t - m.b);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`];
  out.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(p.title)}</text>`);
  if (p.shade) out.push(`<rect x="${sx(p.shade[0])}" y="${m.t}" width="${Math.max(0, sx(p.shade[1]) - sx(p.shade[0]))}" height="${H - m.t - m.b}" fill="#eee"/>`);
  for (const t of p.xTicks ?? niceTicks(x0, x1)) {
    if (t.value < x0 || t.value > x1) continue;
    out.push(`<line x1="${sx(t.value)}" x2="${sx(t.value)}" y1="${m.t}" y2="${H - m.b}" stroke="#ddd"/><text x="${sx(t.value)}" y="${H - m.b + 14}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  for (const t of p.logY ? logTicks(y0, y1) : niceTicks(y0, y1)) {
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(t.value)}" y2="${sy(t.value)}" stroke="#ddd"/><text x="${m.l - 4}" y="${sy(t.value) + 4}" text-anchor="end">${escapeXml(t.label)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">${escapeXml(p.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logY || y > 0));
    const d = pts.map(([x, y], k) => `${k ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    if (d) out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    if (pts.length <= 24) for (const [x, y] of pts) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    out.push(`<line x1="${m.l + 8}" x2="${m.l + 26}" y1="${m.t + 12 + i * 14}" y2="${m.t + 12 + i * 14}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/><text x="${m.l + 30}" y="${m.t + 16 + i * 14}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
