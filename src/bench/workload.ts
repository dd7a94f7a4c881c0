/**
 * What load to offer, as plain data, and the arrivals it implies, as a pure seeded function.
 * No clock, no I/O: the load generator plays these arrivals against a real server, and the
 * cluster simulator (a later issue) plays the same ones against a model of one.
 */
import { exponential, gamma, substream, type Rng } from './random.js';

/** How requests arrive in an open loop: independent of how fast the server answers. */
export type ArrivalProcess =
  | { kind: 'poisson'; ratePerS: number }
  /** Gamma interarrivals: cv 1 is Poisson, above 1 bursty, below 1 smoother. */
  | { kind: 'gamma'; ratePerS: number; cv: number }
  | { kind: 'constant'; ratePerS: number };

/** Which model each request goes to; zipf ranks models in the order they are listed. */
export type Popularity = { kind: 'uniform' } | { kind: 'zipf'; s: number };

export interface Arrival {
  /** Intended send time, ms from the start of the run. */
  atMs: number;
  model: string;
  /** Per-request latency objective, when the workload carries one. */
  deadlineMs?: number;
}

export type Workload =
  /** `curve`: the rate changes over the run (a diurnal cycle, a ramp); absent: steady. */
  | { kind: 'open'; process: ArrivalProcess; models: string[]; popularity: Popularity; durationMs: number; deadlineMs?: number; curve?: RateCurve }
  | { kind: 'trace'; rows: Arrival[] }
  /** A fixed number of clients, each sending its next request when the last is answered. */
  | { kind: 'closed'; concurrency: number; models: string[]; popularity: Popularity; durationMs: number; deadlineMs?: number };

export function meanInterarrivalMs(p: ArrivalProcess): number {
  return 1000 / p.ratePerS;
}

/** One gap between arrivals, in ms. */
export function interarrivalMs(p: ArrivalProcess, r: Rng): number {
  const mean = meanInterarrivalMs(p);
  switch (p.kind) {
    case 'constant':
      return mean;
    case 'poisson':
      return exponential(r, mean);
    case 'gamma': {
      // Shape k = 1/cv² fixes the CV; scale mean/k then fixes the mean.
      const k = 1 / (p.cv * p.cv);
      return gamma(r, k, mean / k);
    }
  }
}

/** Arrival times in [0, untilMs), ascending. */
export function* arrivalTimes(p: ArrivalProcess, r: Rng, untilMs: number): Generator<number> {
  if (!(p.ratePerS > 0)) throw new Error(`arrival rate must be > 0, got ${p.ratePerS}`);
  if (p.kind === 'gamma' && !(p.cv > 0)) throw new Error(`gamma arrivals need cv > 0, got ${p.cv}`);
  // The first arrival comes one gap in, not at 0, so a Poisson stream is memoryless from the start.
  for (let t = interarrivalMs(p, r); t < untilMs; t += interarrivalMs(p, r)) yield t;
}

/** Normalized probabilities, in the order of `models`. */
export function popularityWeights(models: readonly string[], pop: Popularity): number[] {
  if (models.length === 0) throw new Error('a workload needs at least one model');
  const raw = models.map((_, i) => (pop.kind === 'zipf' ? 1 / Math.pow(i + 1, pop.s) : 1));
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
}

/** Draws a model by popularity: one uniform draw, a search over cumulative weights. */
export function modelPicker(models: readonly string[], pop: Popularity): (r: Rng) => string {
  const weights = popularityWeights(models, pop);
  const cumulative: number[] = [];
  let sum = 0;
  for (const w of weights) cumulative.push((sum += w));
  const only = models[0]!;
  if (models.length === 1) return () => only;
  return (r) => {
    const u = r() * sum;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return models[lo]!;
  };
}

/** The arrivals an open or trace workload implies for a seed. */
export function* workloadArrivals(w: Workload, seed: number): Generator<Arrival> {
  if (w.kind === 'closed') throw new Error('a closed workload has no arrival times: its clients send when answered');
  if (w.kind === 'trace') {
    yield* w.rows;
    return;
  }
  const times = substream(seed, 'arrivals');
  const choice = substream(seed, 'model');
  const pick = modelPicker(w.models, w.popularity);
  const arrivals = w.curve ? curvedArrivalTimes(w.process, w.curve, times, w.durationMs) : arrivalTimes(w.process, times, w.durationMs);
  for (const atMs of arrivals) {
    const a: Arrival = { atMs, model: pick(choice) };
    if (w.deadlineMs !== undefined) a.deadlineMs = w.deadlineMs;
    yield a;
  }
}

/** How long a workload runs, ms. */
export function workloadDurationMs(w: Workload): number {
  if (w.kind !== 'trace') return w.durationMs;
  return w.rows.length === 0 ? 0 : w.rows[w.rows.length - 1]!.atMs;
}

/**
 * A trace as CSV: `timestamp_ms,model[,deadline_ms]` per line. A header line, blank lines and
 * `#` comments are skipped. Rows are sorted by time, since a merged trace is often not.
 */
export function parseTrace(csv: string): Arrival[] {
  const rows: Arrival[] = [];
  let seenContent = false;
  csv.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const first = !seenContent;
    seenContent = true;
    const [ts = '', model = '', deadline = ''] = line.split(',').map((f) => f.trim());
    const atMs = Number(ts);
    if (ts === '' || !Number.isFinite(atMs)) {
      if (first) return; // a header
      throw new Error(`trace line ${i + 1}: timestamp_ms '${ts}' is not a number`);
    }
    if (atMs < 0) throw new Error(`trace line ${i + 1}: timestamp_ms ${atMs} is negative`);
    if (model === '') throw new Error(`trace line ${i + 1}: no model`);
    const row: Arrival = { atMs, model };
    if (deadline !== '') {
      const d = Number(deadline);
      if (!(d > 0)) throw new Error(`trace line ${i + 1}: deadline_ms '${deadline}' is not a positive number`);
      row.deadlineMs = d;
    }
    rows.push(row);
  });
  return rows.sort((a, b) => a.atMs - b.atMs);
}

/** The distinct models a workload sends to, in first-seen order. */
export function workloadModels(w: Workload): string[] {
  if (w.kind !== 'trace') return [...w.models];
  return [...new Set(w.rows.map((r) => r.model))];
}

/** One line for a report: what load was offered. */
export function describeWorkload(w: Workload): string {
  const pop = (models: string[], p: Popularity): string =>
    models.length === 1 ? models[0]! : `${models.join(', ')} (${p.kind === 'zipf' ? `zipf s=${p.s}` : 'uniform'})`;
  if (w.kind === 'trace') return `trace replay: ${w.rows.length} requests over ${(workloadDurationMs(w) / 1000).toFixed(1)} s to ${workloadModels(w).join(', ')}`;
  if (w.kind === 'closed') return `closed loop: ${w.concurrency} clients → ${pop(w.models, w.popularity)}`;
  const p = w.process;
  const shape = p.kind === 'gamma' ? `gamma arrivals (cv ${p.cv})` : p.kind === 'poisson' ? 'Poisson arrivals' : 'evenly spaced arrivals';
  return `open loop: ${shape} at ${p.ratePerS}/s${w.curve ? ` ${describeCurve(w.curve)}` : ''} → ${pop(w.models, w.popularity)}`;
}

/**
 * A rate that changes over the run, as a factor on the arrival process's rate at each moment.
 * diurnal: 1 + amplitude·cos(2π(t − peakAtS)/periodS), a day's cycle compressed to any period;
 * piecewise: linear between [time s, factor] points, flat before the first and after the last.
 */
export type RateCurve =
  | { kind: 'diurnal'; periodS: number; amplitude: number; peakAtS?: number }
  | { kind: 'piecewise'; points: Array<[number, number]> };

function describeCurve(c: RateCurve): string {
  if (c.kind === 'diurnal') return `× diurnal (1 ± ${c.amplitude} over ${c.periodS} s, peak at ${c.peakAtS ?? 0} s)`;
  return `× curve (${c.points.map(([t, f]) => `${f} at ${t} s`).join(', ')})`;
}

/** The curve's factor m(t) and its integral Λ(t) = ∫₀ᵗ m, with t in ms. */
export function rateCurve(c: RateCurve): { factor: (tMs: number) => number; integral: (tMs: number) => number } {
  if (c.kind === 'diurnal') {
    if (!(c.periodS > 0) || !(c.amplitude >= 0 && c.amplitude <= 1)) throw new Error(`a diurnal curve needs periodS > 0 and amplitude in [0, 1], got ${c.periodS}, ${c.amplitude}`);
    const P = c.periodS * 1000;
    const peak = (c.peakAtS ?? 0) * 1000;
    const w = (2 * Math.PI) / P;
    return {
      factor: (t) => 1 + c.amplitude * Math.cos(w * (t - peak)),
      integral: (t) => t + (c.amplitude / w) * (Math.sin(w * (t - peak)) - Math.sin(-w * peak)),
    };
  }
  const pts = c.points.map(([s, f]) => [s * 1000, f] as const);
  if (pts.length === 0 || pts.some(([t, f], i) => !(f > 0) || !Number.isFinite(t) || (i > 0 && t <= pts[i - 1]![0]))) {
    throw new Error('a rate curve needs [time s, factor] points with times ascending and factors > 0');
  }
  // Λ at each point, then the area of the trapezoid up to t within its segment.
  const at: number[] = [pts[0]![0] * pts[0]![1]];
  for (let i = 1; i < pts.length; i++) at.push(at[i - 1]! + ((pts[i]![0] - pts[i - 1]![0]) * (pts[i]![1] + pts[i - 1]![1])) / 2);
  const factor = (t: number): number => {
    if (t <= pts[0]![0]) return pts[0]![1];
    for (let i = 1; i < pts.length; i++) {
      const [t1, f1] = pts[i]!;
      if (t <= t1) {
        const [t0, f0] = pts[i - 1]!;
        return f0 + ((f1 - f0) * (t - t0)) / (t1 - t0);
      }
    }
    return pts[pts.length - 1]![1];
  };
  const integral = (t: number): number => {
    if (t <= pts[0]![0]) return t * pts[0]![1];
    for (let i = 1; i < pts.length; i++) {
      if (t <= pts[i]![0]) return at[i - 1]! + ((t - pts[i - 1]![0]) * (factor(t) + pts[i - 1]![1])) / 2;
    }
    const [tn, fn] = pts[pts.length - 1]!;
    return at[at.length - 1]! + (t - tn) * fn;
  };
  return { factor, integral };
}

/**
 * Arrivals whose rate follows a curve, by time rescaling: the process runs in "operational
 * time" τ at its steady rate, and each τ maps to the clock time t with Λ(t) = τ. Poisson
 * becomes a nonhomogeneous Poisson process; gamma keeps its CV locally.
 */
export function* curvedArrivalTimes(p: ArrivalProcess, c: RateCurve, r: Rng, untilMs: number): Generator<number> {
  const { factor, integral } = rateCurve(c);
  let t = 0;
  for (const tau of arrivalTimes(p, r, integral(untilMs))) {
    t = invert(integral, factor, tau, t);
    if (t >= untilMs) return;
    yield t;
  }
}

/** t ≥ from with Λ(t) = τ, by Newton steps kept inside a bracket (Λ is increasing). */
function invert(integral: (t: number) => number, factor: (t: number) => number, tau: number, from: number): number {
  let lo = from;
  let step = 1;
  let hi = from + step;
  while (integral(hi) < tau) {
    lo = hi;
    step *= 2;
    hi = from + step;
  }
  let t = (lo + hi) / 2;
  for (let i = 0; i < 60; i++) {
    const err = integral(t) - tau;
    if (Math.abs(err) < 1e-9) break;
    if (err > 0) hi = t;
    else lo = t;
    const m = factor(t);
    const next = m > 0 ? t - err / m : (lo + hi) / 2;
    t = next > lo && next < hi ? next : (lo + hi) / 2;
    if (hi - lo < 1e-9) break;
  }
  return t;
}
