/**
 * How much load `shoal bench` itself can generate, against the cheapest KServe server there
 * is (the bare fixed-work baseline), compared with autocannon in the same run. A generator
 * that cannot outrun the server it measures reports its own limits as the server's.
 *
 * One after the other, against the same bare server process:
 *  1. autocannon (its own process), closed loop, N connections: the reference rate R;
 *  2. shoal bench, closed loop, N clients (the like-for-like figure);
 *  3. shoal bench, open loop (Poisson) at R/2 and at R: did it send on schedule?
 * The target is met when shoal bench sends R/2 open-loop on schedule with every request answered.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Tensor } from '../../src/core/tensor.js';
import type { PointStats } from '../../src/bench/recorder.js';
import { IDENTITY_MODEL } from '../lib/bench-models.js';
import { measure } from '../lib/measure.js';
import { repoRoot } from '../lib/process.js';

const run = promisify(execFile);
const VALUES = Array.from({ length: 16 }, (_, i) => i / 16);
const BODY = JSON.stringify({ inputs: [{ name: 'INPUT_FP32', datatype: 'FP32', shape: [16], data: VALUES }] });
const INPUTS: Tensor[][] = [[{ name: 'INPUT_FP32', datatype: 'FP32', shape: [16], data: Float32Array.from(VALUES) }]];

export const TARGET_SHARE = 0.5;

export interface CeilingResult {
  seconds: number;
  connections: number;
  autocannonCommand: string;
  autocannonPerS: number;
  closed: PointStats;
  /** Open-loop points at these shares of autocannon's rate. */
  open: Array<{ share: number; rate: number; stats: PointStats }>;
  met: boolean;
}

async function autocannon(url: string, seconds: number, connections: number): Promise<{ perS: number; command: string }> {
  const script = path.join(repoRoot(), 'node_modules/autocannon/autocannon.js');
  const args = ['-c', String(connections), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-b', BODY, '-j', `${url}/v2/models/${IDENTITY_MODEL}/infer`];
  const { stdout } = await run(process.execPath, [script, ...args], { maxBuffer: 16 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { '2xx': number; duration: number; non2xx: number; errors: number };
  if (r.non2xx || r.errors) throw new Error(`autocannon saw ${r.non2xx} non-2xx and ${r.errors} errors`);
  const shown = args.map((a) => (a === BODY ? `'<16 × FP32 identity request>'` : a)).join(' ');
  return { perS: r['2xx'] / r.duration, command: `npx autocannon ${shown}` };
}

export async function generatorCeiling(bareUrl: string, o: { seconds: number; connections: number; warmupS: number }): Promise<CeilingResult> {
  const ac = await autocannon(bareUrl, o.seconds, o.connections);
  const base = { url: bareUrl, model: IDENTITY_MODEL, durationS: o.seconds, warmupS: o.warmupS, inputs: INPUTS } as const;
  const closed = await measure({ ...base, mode: 'concurrency', level: o.connections });
  const open: CeilingResult['open'] = [];
  for (const share of [TARGET_SHARE, 1]) {
    const rate = Math.round(ac.perS * share);
    open.push({ share, rate, stats: await measure({ ...base, mode: 'rate', level: rate, connections: Math.max(o.connections, 64) }) });
  }
  const half = open[0]!.stats;
  return {
    seconds: o.seconds, connections: o.connections, autocannonCommand: ac.command, autocannonPerS: ac.perS, closed, open,
    met: half.generatorKeptUp && half.errorCount === 0 && half.ok > 0,
  };
}
