/**
 * What one load point measured. Times are ms from the start of the point's schedule. A request
 * counts when its intended send time falls in the measured window (after warm-up), and its
 * latency runs from that intended time, so a stall that delays sending is charged to the
 * requests it delayed instead of vanishing (coordinated omission).
 */
import { build, type Histogram } from 'hdr-histogram-js';
import type { Outcome } from './target.js';

/** A send this much later than intended counts as late in the "kept up" verdict. */
export const LATE_MS = 10;

export interface LatencyStats { min: number; mean: number; p50: number; p90: number; p99: number; p999: number; max: number }
export interface Bin { tS: number; sent: number; ok: number; errors: number; p50Ms?: number; p99Ms?: number; maxMs?: number }

export interface PointStats {
  windowS: number;
  scheduled: number;
  sent: number;
  ok: number;
  errors: Record<string, { count: number; sample: string }>;
  errorCount: number;
  intendedRatePerS: number;
  sentRatePerS: number;
  throughputPerS: number;
  /** Answered within --slo-ms (or the trace's deadline), per second; absent without an objective. */
  goodputPerS?: number;
  goodFraction?: number;
  latencyMs?: LatencyStats;
  sendLatenessMs: { p50: number; p99: number; max: number; lateFraction: number };
  maxInFlight: number;
  /** Requests dispatched while every connection was busy: they queued in the client. */
  waitedForConnection: number;
  byModel: Record<string, { ok: number; errors: number; p50Ms?: number; p99Ms?: number }>;
  /** Latency by percentile, for the CDF plot. */
  percentiles: Array<{ q: number; ms: number }>;
  timeline: Bin[];
  binMs: number;
  generatorKeptUp: boolean;
  warnings: string[];
}

export interface RecorderOptions {
  windowStartMs: number;
  windowEndMs: number;
  binMs: number;
  connections: number;
  sloMs?: number;
  /** Closed loop: latencies are round trips by construction, and the report says so. */
  closedLoop?: boolean;
}

const newHistogram = (): Histogram => build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
const us = (ms: number): number => Math.max(1, Math.round(ms * 1000));
/** Per-bin samples kept for the timeline; beyond this a bin keeps a uniform sample. */
const BIN_SAMPLES = 4096;

interface BinAcc { sent: number; ok: number; errors: number; seen: number; latencies: number[]; max: number }

export class Recorder {
  private readonly latency = newHistogram();
  private readonly lateness = newHistogram();
  private readonly models = new Map<string, { ok: number; errors: number; h: Histogram }>();
  private readonly errors = new Map<string, { count: number; sample: string }>();
  private readonly bins: BinAcc[] = [];
  private scheduled = 0;
  private sent = 0;
  private ok = 0;
  private good = 0;
  private late = 0;
  private lastSendMs = 0;
  private lastDoneMs = 0;
  private inFlight = 0;
  private maxInFlight = 0;
  private waited = 0;
  private sampleState = 1;

  constructor(private readonly o: RecorderOptions) {}

  private inWindow(atMs: number): boolean {
    return atMs >= this.o.windowStartMs && atMs < this.o.windowEndMs;
  }

  private bin(atMs: number): BinAcc {
    const i = Math.max(0, Math.floor(atMs / this.o.binMs));
    while (this.bins.length <= i) this.bins.push({ sent: 0, ok: 0, errors: 0, seen: 0, latencies: [], max: 0 });
    return this.bins[i]!;
  }

  onSend(atMs: number, sentMs: number): void {
    if (this.inFlight >= this.o.connections && this.inWindow(atMs)) this.waited++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.bin(atMs).sent++;
    if (!this.inWindow(atMs)) return;
    this.scheduled++;
    this.sent++;
    const lateMs = Math.max(0, sentMs - atMs);
    this.lateness.recordValue(us(lateMs));
    if (lateMs > LATE_MS) this.late++;
    this.lastSendMs = Math.max(this.lastSendMs, sentMs);
  }

  onDone(r: { model: string; atMs: number; doneMs: number; outcome: Outcome; deadlineMs?: number }): void {
    this.inFlight--;
    const ms = r.doneMs - r.atMs;
    const b = this.bin(r.atMs);
    if (r.outcome.ok) {
      b.ok++;
      b.max = Math.max(b.max, ms);
      // Reservoir sampling with a fixed LCG keeps timelines of long, fast runs bounded and reproducible.
      if (b.latencies.length < BIN_SAMPLES) b.latencies.push(ms);
      else {
        this.sampleState = (Math.imul(this.sampleState, 1664525) + 1013904223) >>> 0;
        const j = this.sampleState % (b.seen + 1);
        if (j < BIN_SAMPLES) b.latencies[j] = ms;
      }
      b.seen++;
    } else b.errors++;
    if (!this.inWindow(r.atMs)) return;
    this.lastDoneMs = Math.max(this.lastDoneMs, r.doneMs);
    let m = this.models.get(r.model);
    if (!m) this.models.set(r.model, (m = { ok: 0, errors: 0, h: newHistogram() }));
    if (r.outcome.ok) {
      this.ok++;
      m.ok++;
      this.latency.recordValue(us(ms));
      m.h.recordValue(us(ms));
      const objective = r.deadlineMs ?? this.o.sloMs;
      if (objective !== undefined && ms <= objective) this.good++;
    } else {
      m.errors++;
      const e = this.errors.get(r.outcome.kind);
      if (e) e.count++;
      else this.errors.set(r.outcome.kind, { count: 1, sample: r.outcome.detail });
    }
  }

  get inFlightNow(): number {
    return this.inFlight;
  }

  /** Running totals for progress lines. */
  progress(): { sent: number; ok: number; errors: number; p99Ms?: number } {
    const errors = [...this.errors.values()].reduce((a, e) => a + e.count, 0);
    return { sent: this.sent, ok: this.ok, errors, p99Ms: this.ok ? this.latency.getValueAtPercentile(99) / 1000 : undefined };
  }

  summary(hasDeadlines: boolean): PointStats {
    const { windowStartMs: start, windowEndMs: end } = this.o;
    const windowS = (end - start) / 1000;
    const sendSpanS = Math.max(windowS, (this.lastSendMs - start) / 1000);
    // Requests still answering after the window stretch the time they took, so an overloaded server
    // is not credited with finishing a backlog instantly.
    const doneSpanS = Math.max(windowS, (this.lastDoneMs - start) / 1000);
    const errorCount = [...this.errors.values()].reduce((a, e) => a + e.count, 0);
    // HDR reports a percentile as the top of its bucket, which can pass the exact maximum; cap it there.
    const pct = (h: Histogram, q: number): number => Math.min(h.getValueAtPercentile(q), h.maxValue) / 1000;
    const h = this.latency;
    const latencyMs = h.totalCount ? { min: h.minNonZeroValue / 1000, mean: h.mean / 1000, p50: pct(h, 50), p90: pct(h, 90), p99: pct(h, 99), p999: pct(h, 99.9), max: h.maxValue / 1000 } : undefined;
    const lateFraction = this.sent ? this.late / this.sent : 0;
    const intendedRatePerS = this.scheduled / windowS;
    const sentRatePerS = this.sent / sendSpanS;
    const objective = hasDeadlines || this.o.sloMs !== undefined;
    const warnings: string[] = [];
    const keptUp = lateFraction <= 0.01 && sentRatePerS >= 0.95 * intendedRatePerS;
    if (!this.o.closedLoop && !keptUp) {
      warnings.push(`the generator could not keep up: ${(lateFraction * 100).toFixed(1)}% of requests went out more than ${LATE_MS} ms late ` +
        `(p99 lateness ${pct(this.lateness, 99).toFixed(1)} ms), sent ${sentRatePerS.toFixed(1)}/s of ${intendedRatePerS.toFixed(1)}/s intended; latencies include that lateness`);
    }
    if (this.waited > 0) {
      warnings.push(`${this.waited} requests waited in the client for one of ${this.o.connections} busy connections; their latency counts that wait — raise --connections`);
    }
    if (this.o.closedLoop) warnings.push('closed loop: each client waits for its answer before sending again, so a server stall delays sends instead of showing in the percentiles; use --rate for latency under load');
    return {
      windowS, scheduled: this.scheduled, sent: this.sent, ok: this.ok,
      errors: Object.fromEntries(this.errors), errorCount,
      intendedRatePerS, sentRatePerS,
      throughputPerS: this.ok / doneSpanS,
      ...(objective ? { goodputPerS: this.good / doneSpanS, goodFraction: this.scheduled ? this.good / this.scheduled : 0 } : {}),
      ...(latencyMs ? { latencyMs } : {}),
      sendLatenessMs: { p50: pct(this.lateness, 50), p99: pct(this.lateness, 99), max: this.lateness.maxValue / 1000, lateFraction },
      maxInFlight: this.maxInFlight,
      waitedForConnection: this.waited,
      byModel: Object.fromEntries([...this.models].map(([name, m]) => [name, { ok: m.ok, errors: m.errors, ...(m.ok ? { p50Ms: pct(m.h, 50), p99Ms: pct(m.h, 99) } : {}) }])),
      percentiles: h.totalCount ? percentileSpectrum(h) : [],
      timeline: this.bins.map((b, i) => timelineBin(b, i, this.o.binMs)),
      binMs: this.o.binMs,
      generatorKeptUp: this.o.closedLoop ? true : keptUp,
      warnings,
    };
  }
}

/** Percentiles spaced evenly in log(1/(1-q)), so the tail gets as many points as the body. */
function percentileSpectrum(h: Histogram): Array<{ q: number; ms: number }> {
  const qs = Array.from({ length: 33 }, (_, k) => 100 * (1 - Math.pow(10, -k / 8)));
  return [...qs, 100].map((q) => ({ q, ms: Math.min(h.getValueAtPercentile(q), h.maxValue) / 1000 }));
}

function timelineBin(b: BinAcc, i: number, binMs: number): Bin {
  const bin: Bin = { tS: (i * binMs) / 1000, sent: b.sent, ok: b.ok, errors: b.errors };
  if (b.latencies.length === 0) return bin;
  const sorted = Float64Array.from(b.latencies).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { ...bin, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: b.max };
}
