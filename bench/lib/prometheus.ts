/**
 * Reading one Prometheus histogram out of /metrics text. The server's histogram counts
 * since it started; the bench wants what happened during one phase, so it scrapes before
 * and after and works on the difference.
 */

export interface Bucket {
  /** Upper bound (the `le` label); Infinity for +Inf. */
  le: number;
  /** Cumulative count of observations ≤ le. */
  count: number;
}

export interface HistogramSnapshot {
  /** Sorted by le, ending with +Inf. */
  buckets: Bucket[];
  sum: number;
  count: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

/**
 * The histogram `name` from exposition text. Series that differ in labels other than `le`
 * (say, one per model) are added together unless `match` picks some by label value.
 * Returns undefined when the text has no such histogram.
 */
export function parseHistogram(text: string, name: string, match: Record<string, string> = {}): HistogramSnapshot | undefined {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line.trim());
    if (!m) continue;
    const [, metric, labelText = '', valueText = ''] = m;
    const suffix = metric === `${name}_bucket` ? 'bucket' : metric === `${name}_sum` ? 'sum' : metric === `${name}_count` ? 'count' : undefined;
    if (!suffix) continue;
    const labels: Record<string, string> = {};
    for (const [, k = '', v = ''] of labelText.matchAll(LABEL)) labels[k] = v;
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
    const value = parseValue(valueText);
    seen = true;
    if (suffix === 'sum') sum += value;
    else if (suffix === 'count') count += value;
    else {
      const le = parseValue(labels.le ?? '');
      if (Number.isNaN(le)) throw new Error(`${name}_bucket without a numeric le: ${line}`);
      byLe.set(le, (byLe.get(le) ?? 0) + value);
    }
  }
  if (!seen) return undefined;
  const buckets = [...byLe].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le);
  if (buckets.at(-1)?.le !== Infinity) throw new Error(`${name} has no +Inf bucket`);
  return { buckets, sum, count };
}

/** What was observed between two scrapes of the same histogram. */
export function diffHistogram(after: HistogramSnapshot, before: HistogramSnapshot): HistogramSnapshot {
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  const buckets = after.buckets.map((b) => {
    const count = b.count - (earlier.get(b.le) ?? 0);
    // A drop means the server restarted between the scrapes, and the difference means nothing.
    if (count < 0) throw new Error(`bucket le=${b.le} went down between scrapes (server restarted?)`);
    return { le: b.le, count };
  });
  return { buckets, sum: after.sum - before.sum, count: after.count - before.count };
}

/**
 * The q-quantile as the upper bound of the bucket that holds it: the smallest `le` whose
 * cumulative count reaches ceil(q × total). It is an upper bound, not an interpolation,
 * so "p99 ≤ this" is a claim the data supports. Infinity when it lies past the last finite
 * bucket; undefined when nothing was observed.
 */
export function bucketQuantile(h: HistogramSnapshot, q: number): number | undefined {
  if (q < 0 || q > 1) throw new Error(`quantile ${q} is outside [0, 1]`);
  const total = h.buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  // The epsilon keeps float error (0.07 × 100 = 7.000000000000001) from pushing the rank up one.
  const rank = Math.max(1, Math.ceil(q * total - 1e-9));
  return h.buckets.find((b) => b.count >= rank)?.le ?? Infinity;
}
