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
  | { kind: 'open'; process: ArrivalProcess; models: string[]; popularity: Popularity; durationMs: number; deadlineMs?: number }
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
  for (const atMs of arrivalTimes(w.process, times, w.durationMs)) {
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
  return `open loop: ${shape} at ${p.ratePerS}/s → ${pop(w.models, w.popularity)}`;
}
