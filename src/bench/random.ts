/**
 * Seeded randomness for load generation and (later) the cluster simulator. Math.random cannot
 * be seeded, and a benchmark or a simulation must replay the same arrivals and inputs for the
 * same seed, so every draw goes through an Rng handed in by the caller.
 */

/** Uniform in [0, 1). */
export type Rng = () => number;

/**
 * sfc32 (Chris Doty-Humphrey's small fast counting generator): 128 bits of state, passes
 * PractRand, and is a handful of 32-bit operations per draw, so it never limits the sender.
 */
export function rng(seed: number): Rng {
  // splitmix32 spreads a small integer seed over all four state words, so seeds 1 and 2 differ everywhere.
  let s = seed >>> 0;
  const mix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = mix(), b = mix(), c = mix(), d = mix();
  const next: Rng = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  // The first outputs still echo the seed's structure; drop a few.
  for (let i = 0; i < 12; i++) next();
  return next;
}

/**
 * An independent stream for one purpose (arrivals, model choice, input values) derived from
 * the run's seed, so that adding a model does not shift every arrival time.
 */
export function substream(seed: number, purpose: string): Rng {
  let h = 2166136261 ^ (seed >>> 0);
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 16777619);
  return rng(h >>> 0);
}

/** Exponential with the given mean. */
export function exponential(r: Rng, mean: number): number {
  // 1 - u lies in (0, 1], so the log is finite.
  return -mean * Math.log(1 - r());
}

/** Standard normal (Box–Muller; one of the pair is discarded, which is simpler than caching it). */
export function normal(r: Rng): number {
  const u = 1 - r();
  const v = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Gamma(shape k, scale θ) by Marsaglia and Tsang (2000). For k < 1 it draws Gamma(k + 1) and
 * scales by U^(1/k), the standard boost, since the squeeze method needs k ≥ 1.
 */
export function gamma(r: Rng, shape: number, scale: number): number {
  if (!(shape > 0) || !(scale > 0)) throw new Error(`gamma needs shape > 0 and scale > 0, got ${shape}, ${scale}`);
  if (shape < 1) return gamma(r, shape + 1, scale) * Math.pow(1 - r(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(r);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - r();
    if (u < 1 - 0.0331 * x ** 4) return d * v * scale;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
  }
}

/** Integer in [lo, hi). */
export function integer(r: Rng, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo));
}
