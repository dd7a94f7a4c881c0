/**
 * A measuring device for the fidelity benchmark: preloaded into a shoal server
 * (`node --import tsx --import ./src/sim/loop-probe.ts src/cli.ts serve …`), it records when the
 * server's event loop stops for reasons no request's own work explains: a collection
 * (PerformanceObserver 'gc' entries), or its thread ready to run but waiting for a core
 * (the kernel's per-thread accounting, /proc/self/task/PID/schedstat). It does nothing until
 * the first SIGUSR2; from then on a timer due every TICK_MS times the loop, and every gap
 * longer than due by more than LATE_MS is a stall, split into the time the thread ran, waited
 * for a core, and spent in collections. The next SIGUSR2 stops it and writes what it saw to
 * the file named by SHOAL_LOOP_PROBE (JSON, `LoopProbeRecord`); the one after starts again.
 * The server's own code knows nothing of it (bench/sim-fidelity.ts sends the signals).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { LATE_MS, TICK_MS } from './loop-ticks.js';

export interface LoopProbeRecord {
  /** How long it recorded, ms. */
  spanMs: number;
  ticks: number;
  /** Per stall: the gap between two ticks, and within it the thread running, waiting for a core, and in collections, ms. */
  stalls: Array<{ gapMs: number; runMs: number; waitMs: number; gcMs: number }>;
  /** Collections while recording: count and total time, ms. */
  gc: { count: number; ms: number };
  /** The thread over the whole span: running and waiting for a core, ms (absent off Linux). */
  thread?: { runMs: number; waitMs: number };
}

const file = process.env.SHOAL_LOOP_PROBE;
if (file) {
  const schedPath = `/proc/self/task/${process.pid}/schedstat`;
  const sched = (): [number, number] | undefined => {
    try {
      const [run, wait] = readFileSync(schedPath, 'utf8').split(' ').map(Number);
      return [run! / 1e6, wait! / 1e6];
    } catch {
      return undefined;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let rec: LoopProbeRecord;
  let gcs: Array<[number, number]> = [];
  /** Each stall's gap (from, to); collections are matched to them at the end, their entries coming later than the ticks. */
  let windows: Array<[number, number]> = [];
  let began = 0;
  let first: [number, number] | undefined;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([e.startTime, e.duration]);
  });
  const start = (): void => {
    rec = { spanMs: 0, ticks: 0, stalls: [], gc: { count: 0, ms: 0 } };
    gcs = [];
    windows = [];
    gcObserver.observe({ entryTypes: ['gc'] });
    began = performance.now();
    first = sched();
    let last = began;
    let lastSched = first;
    timer = setInterval(() => {
      const now = performance.now();
      const s = sched();
      rec.ticks++;
      if (now - last > TICK_MS + LATE_MS) {
        windows.push([last, now]);
        rec.stalls.push({
          gapMs: round(now - last), runMs: round(s && lastSched ? s[0] - lastSched[0] : 0),
          waitMs: round(s && lastSched ? s[1] - lastSched[1] : 0), gcMs: 0,
        });
      }
      last = now;
      lastSched = s;
    }, TICK_MS);
  };
  const stop = (): void => {
    clearInterval(timer);
    timer = undefined;
    gcObserver.disconnect();
    const end = sched();
    rec.spanMs = round(performance.now() - began);
    // The observer's last entries may be pending; what came counts.
    rec.gc = { count: gcs.length, ms: round(gcs.reduce((s, [, d]) => s + d, 0)) };
    windows.forEach(([from, to], i) => {
      rec.stalls[i]!.gcMs = round(gcs.reduce((sum, [t, d]) => sum + Math.max(0, Math.min(t + d, to) - Math.max(t, from)), 0));
    });
    if (first && end) rec.thread = { runMs: round(end[0] - first[0]), waitMs: round(end[1] - first[1]) };
    writeFileSync(`${file}.tmp`, JSON.stringify(rec));
    renameSync(`${file}.tmp`, file);
  };
  process.on('SIGUSR2', () => (timer ? stop() : start()));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
