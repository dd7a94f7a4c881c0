/**
 * Finding the highest rate at which a server still meets a latency objective, with few
 * measurements: double (or halve) from a starting guess until one rate passes and a higher
 * one fails, then bisect between them geometrically. Pure: the caller measures each rate
 * the search asks for and hands back whether it passed.
 */

export interface Trial {
  rate: number;
  pass: boolean;
}

export interface SearchOptions {
  /** First rate to try; a rough capacity estimate halved is a good one. */
  start: number;
  maxTrials: number;
  /** Stop once the failing rate is within this factor above the passing one (e.g. 1.15). */
  resolution: number;
  /** Give up going down below this rate: the objective is not met at any rate worth reporting. */
  minRate: number;
}

/** The bracket so far: the highest pass below the lowest fail (noise can make passes and fails interleave). */
export function bracket(trials: readonly Trial[]): { pass?: number; fail?: number } {
  const fails = trials.filter((t) => !t.pass).map((t) => t.rate);
  const fail = fails.length ? Math.min(...fails) : undefined;
  const passes = trials.filter((t) => t.pass && (fail === undefined || t.rate < fail)).map((t) => t.rate);
  const pass = passes.length ? Math.max(...passes) : undefined;
  return { ...(pass !== undefined ? { pass } : {}), ...(fail !== undefined ? { fail } : {}) };
}

/** Three significant figures: rates read better that way, and finer steps are below the noise. */
const round3 = (x: number): number => {
  const p = Math.pow(10, Math.max(0, Math.floor(Math.log10(x)) - 2));
  return Math.round(x / p) * p;
};

/** The next rate to measure, or undefined when the search is over. */
export function nextRate(trials: readonly Trial[], o: SearchOptions): number | undefined {
  if (!(o.start > 0) || !(o.resolution > 1)) throw new Error('rate search needs start > 0 and resolution > 1');
  if (trials.length >= o.maxTrials) return undefined;
  if (trials.length === 0) return round3(o.start);
  const { pass, fail } = bracket(trials);
  let next: number;
  if (fail === undefined) next = round3(pass! * 2);
  else if (pass === undefined) {
    next = round3(fail / 2);
    if (next < o.minRate) return undefined;
  } else {
    if (fail / pass <= o.resolution) return undefined;
    next = round3(Math.sqrt(pass * fail));
  }
  // Rounding can land on a rate already tried when the bracket is narrow: nothing more to learn.
  return trials.some((t) => t.rate === next) ? undefined : next;
}

/** The answer: the highest rate that passed below every failure, or undefined if none passed. */
export function bestRate(trials: readonly Trial[]): number | undefined {
  return bracket(trials).pass;
}
