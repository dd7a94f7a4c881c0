/**
 * A workload as a file (YAML or JSON), so one description drives both a real run
 * (`shoal bench --workload FILE`) and a simulated one (`shoal simulate --workload FILE`).
 * Its fields are the bench flags' names in camelCase, plus the rate curves bench has no flag
 * for. Pure: the caller reads the files.
 */
import { z } from 'zod';
import YAML from 'yaml';
import type { Arrival, ArrivalProcess, Popularity, RateCurve, Workload } from './workload.js';

const seconds = z.number().positive();
const spec = z.strictObject({
  /** Models to send to, in Zipf rank order. Not with `trace`. */
  models: z.array(z.string().min(1)).min(1).optional(),
  /** Open loop: requests per second (the curve's factor 1). */
  rate: z.number().positive().optional(),
  /** Closed loop: clients. Only `shoal bench` runs closed loops. */
  concurrency: z.number().int().positive().optional(),
  arrival: z.enum(['poisson', 'gamma', 'constant']).optional(),
  cv: z.number().positive().optional(),
  zipf: z.number().nonnegative().optional(),
  /** A CSV trace (timestamp_ms,model[,deadline_ms]), relative to the workload file. */
  trace: z.string().min(1).optional(),
  diurnal: z.strictObject({ periodS: seconds, amplitude: z.number().min(0).max(1), peakAtS: z.number().optional() }).optional(),
  /** [time s, factor] points; the rate is linear between them. */
  rateCurve: z.array(z.tuple([z.number().nonnegative(), z.number().positive()])).min(1).optional(),
  duration: seconds.default(10),
  warmup: z.number().nonnegative().default(1),
  sloMs: z.number().positive().optional(),
  seed: z.number().int().nonnegative().default(1),
});

export type WorkloadSpec = z.infer<typeof spec>;

/** Parses and checks a workload file's text; errors name the file and the field. */
export function parseWorkloadSpec(text: string, file: string): WorkloadSpec {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new Error(`${file}: not YAML or JSON: ${(e as Error).message}`, { cause: e });
  }
  return checkWorkloadSpec(raw, file);
}

/** Checks a workload given as data (a parsed file, or flags gathered into one); `file` names it in errors. */
export function checkWorkloadSpec(raw: unknown, file: string): WorkloadSpec {
  const r = spec.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const s = r.data;
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  const modes = [s.rate !== undefined && 'rate', s.concurrency !== undefined && 'concurrency', s.trace !== undefined && 'trace'].filter(Boolean);
  if (modes.length !== 1) fail(`give exactly one of rate, concurrency and trace (got ${modes.join(', ') || 'none'})`);
  if (s.trace === undefined && !s.models) fail('models: name at least one model');
  if (s.trace !== undefined && s.models) fail('models: a trace names its own models');
  if (s.cv !== undefined && (s.arrival ?? 'gamma') !== 'gamma') fail(`cv shapes gamma arrivals; it does not go with arrival ${s.arrival}`);
  if ((s.diurnal || s.rateCurve) && s.rate === undefined) fail('diurnal and rateCurve shape an open loop: give rate');
  if (s.diurnal && s.rateCurve) fail('give diurnal or rateCurve, not both');
  return s;
}

export function specCurve(s: WorkloadSpec): RateCurve | undefined {
  if (s.diurnal) return { kind: 'diurnal', ...s.diurnal };
  if (s.rateCurve) return { kind: 'piecewise', points: s.rateCurve };
  return undefined;
}

export function specPopularity(s: WorkloadSpec): Popularity {
  return s.zipf !== undefined ? { kind: 'zipf', s: s.zipf } : { kind: 'uniform' };
}

/**
 * The workload a spec describes, as `shoal bench` builds it from the same flags, so that the
 * arrivals drawn for a seed are the same in a real and a simulated run. `trace` is the parsed
 * trace file when the spec names one.
 */
export function specWorkload(s: WorkloadSpec, trace?: Arrival[]): Workload {
  const durationMs = (s.warmup + s.duration) * 1000;
  const popularity = specPopularity(s);
  if (s.trace !== undefined) {
    if (!trace) throw new Error('the workload names a trace file that was not read');
    return { kind: 'trace', rows: trace };
  }
  if (s.concurrency !== undefined) return { kind: 'closed', concurrency: s.concurrency, models: s.models!, popularity, durationMs };
  const arrival = s.arrival ?? (s.cv !== undefined ? 'gamma' : 'poisson');
  const curve = specCurve(s);
  const process: ArrivalProcess = arrival === 'gamma' ? { kind: 'gamma', ratePerS: s.rate!, cv: s.cv ?? 1 } : { kind: arrival, ratePerS: s.rate! };
  return { kind: 'open', process, models: s.models!, popularity, durationMs, ...(curve ? { curve } : {}) };
}
