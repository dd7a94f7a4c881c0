/**
 * How much load `shoal bench` itself can generate, against the cheapest KServe server there
 * is (the bare fixed-reply baseline), compared with autocannon in the same run. A generator
 * that cannot outrun the server it measures reports its own limits as the server's.
 *
 *   npx tsx bench/generator-ceiling.ts [--seconds 5] [--connections 32]
 *
 * Each tool runs in its own process, one after the other, against one bare server process:
 *  1. autocannon, closed loop, N connections: the reference rate R;
 *  2. shoal bench, closed loop, N clients (the like-for-like figure);
 *  3. shoal bench, open loop (Poisson) at R/2 and at R: did it send on schedule?
 * It passes when shoal bench sustains R/2 open-loop without falling behind.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import type { BenchReport } from '../src/bench/runner.js';
import { repoRoot, spawnServer } from './lib/process.js';

const run = promisify(execFile);
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' } } });
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const root = repoRoot();
const MODEL = 'identity_fp32';
const BODY = JSON.stringify({ inputs: [{ name: 'INPUT_FP32', datatype: 'FP32', shape: [16], data: Array.from({ length: 16 }, (_, i) => i / 16) }] });

async function autocannon(url: string): Promise<number> {
  const { stdout } = await run(process.execPath, [
    path.join(root, 'node_modules/autocannon/autocannon.js'), '-c', String(connections), '-d', String(seconds),
    '-m', 'POST', '-H', 'content-type=application/json', '-b', BODY, '-j', `${url}/v2/models/${MODEL}/infer`,
  ], { maxBuffer: 16 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { '2xx': number; duration: number; non2xx: number; errors: number };
  if (r.non2xx || r.errors) throw new Error(`autocannon saw ${r.non2xx} non-2xx and ${r.errors} errors`);
  return r['2xx'] / r.duration;
}

async function shoalBench(url: string, dir: string, load: string[]): Promise<BenchReport> {
  const json = path.join(dir, `report-${load.join('')}.json`);
  await run(process.execPath, [
    '--import', 'tsx', path.join(root, 'src/cli.ts'), 'bench', '--url', url, '--model', MODEL, '--input-data', path.join(dir, 'input.json'),
    '--duration', String(seconds), '--warmup', '1', '--quiet', '--json', json, ...load,
  ], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(await readFile(json, 'utf8')) as BenchReport;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-generator-ceiling-'));
  await writeFile(path.join(dir, 'input.json'), BODY);
  const server = await spawnServer({ args: ['--import', 'tsx', path.join(root, 'bench/baselines/bare-http.ts'), '--port', '{port}'], logFile: path.join(dir, 'bare-http.log') });
  const rows: string[][] = [];
  let verdict = false;
  try {
    console.error(`bare server at ${server.url}; ${seconds} s per run, ${connections} connections, ${os.cpus().length} CPUs`);
    const reference = await autocannon(server.url);
    rows.push(['autocannon', `closed, ${connections} connections`, reference.toFixed(0), '1.00', '']);
    const closed = (await shoalBench(server.url, dir, ['--concurrency', String(connections)])).points[0]!.stats;
    rows.push(['shoal bench', `closed, ${connections} clients`, closed.throughputPerS.toFixed(0), (closed.throughputPerS / reference).toFixed(2), `p99 ${closed.latencyMs?.p99.toFixed(2)} ms`]);
    for (const share of [0.5, 1]) {
      const rate = Math.round(reference * share);
      const s = (await shoalBench(server.url, dir, ['--rate', String(rate), '--connections', String(Math.max(connections, 64))])).points[0]!.stats;
      const note = `sent ${s.sentRatePerS.toFixed(0)}/s of ${s.intendedRatePerS.toFixed(0)}/s intended, late p99 ${s.sendLatenessMs.p99.toFixed(1)} ms, ${(s.sendLatenessMs.lateFraction * 100).toFixed(1)}% > 10 ms late, ${s.generatorKeptUp ? 'kept up' : 'FELL BEHIND'}`;
      rows.push(['shoal bench', `open, Poisson ${rate}/s`, s.throughputPerS.toFixed(0), (s.throughputPerS / reference).toFixed(2), note]);
      if (share === 0.5) verdict = s.generatorKeptUp && s.errorCount === 0;
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const head = ['generator', 'load', 'ok/s', '× autocannon', 'notes'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i >= 2 && i <= 3 ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join('  ');
  console.log([line(head), w.map((n) => '─'.repeat(n)).join('  '), ...rows.map(line)].join('\n'));
  console.log(`\n${verdict ? 'PASS' : 'FAIL'}: shoal bench ${verdict ? 'sustained' : 'did not sustain'} half of autocannon's rate open-loop, on schedule`);
  if (!verdict) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
