/**
 * `npm run bench`: the standard comparison. Each section starts its own servers, measures with
 * `shoal bench`, prints its results and rewrites its own part of BENCHMARKS.md.
 *
 *   --only issue2,issue4      run only these sections (default: all, in the order below)
 *   --quick                   a few seconds per point, to check the bench works; implies --no-write unless --write
 *   --no-write                leave BENCHMARKS.md alone
 *   --write                   write BENCHMARKS.md even with --quick
 *   --overload-seconds N      length of issue 3's overload run (default 60; 3 with --quick)
 *
 * SHOAL_BENCH_SERVER_CPUS=0 taskset -c 1 npm run bench … runs the servers on CPU 0 and this process
 * (the load generator, and onnxruntime-node direct) on CPU 1: figures without the generator's
 * share of the server's cores. Its sections are written beside the shared-core ones (NAME-split-cpus).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runIssue2 } from './issue2/index.js';
import { FULL_OVERLOAD_S, runIssue3 } from './issue3/index.js';
import { runIssue4 } from './issue4/index.js';
import { writeSection } from './lib/markdown.js';
import { SERVER_CPUS_ENV, cpusAllowed, repoRoot, serverCpus, splitPlacement } from './lib/process.js';
import type { SectionContext } from './section.js';

const SECTIONS: Record<string, (ctx: SectionContext) => Promise<string>> = {
  issue2: runIssue2,
  issue3: runIssue3,
  issue4: runIssue4,
};

const argv = process.argv.slice(2);
const { values: args } = parseArgs({
  args: argv,
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    'overload-seconds': { type: 'string' },
  },
});

const quick = args.quick === true;
const write = args.write === true || (!quick && args['no-write'] !== true);

/** How this run was started, as someone would retype it. */
function command(): string {
  const rest = argv.join(' ');
  const split = serverCpus();
  const placed = split === undefined ? '' : `${SERVER_CPUS_ENV}=${split} taskset -c ${cpusAllowed() ?? '?'} `;
  if (process.env.npm_lifecycle_event === 'bench') return `${placed}${rest ? `npm run bench -- ${rest}` : 'npm run bench'}`;
  return `${placed}node ${path.relative(repoRoot(), process.argv[1] ?? 'dist/bench/run.js')}${rest ? ` ${rest}` : ''}`;
}

function chosen(): string[] {
  if (args.only === undefined) return Object.keys(SECTIONS);
  const names = args.only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(n in SECTIONS));
  if (unknown.length || names.length === 0) throw new Error(`--only: unknown section ${unknown.join(', ') || '(none given)'}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  return Object.keys(SECTIONS).filter((n) => names.includes(n));
}

function overloadSeconds(): number {
  const given = args['overload-seconds'];
  if (given === undefined) return quick ? 3 : FULL_OVERLOAD_S;
  const s = Number(given);
  if (!(s > 0)) throw new Error(`--overload-seconds must be a positive number of seconds, got '${given}'`);
  return s;
}

async function main(): Promise<void> {
  const names = chosen();
  // With the servers on CPUs of their own, this process (the load generator, and onnxruntime-node
  // direct, whose threads stand for the server's) must have as many, or "same threads" compares
  // unlike with unlike: the servers size their instances from the CPUs they see, the bench from its own.
  splitPlacement();
  const ctx: SectionContext = { quick, command: command(), overloadS: overloadSeconds(), say: (line) => process.stderr.write(`${line}\n`) };
  const file = path.join(repoRoot(), 'BENCHMARKS.md');
  const failed: string[] = [];
  for (const name of names) {
    const started = performance.now();
    ctx.say(`\n== ${name} ==`);
    try {
      const section = await SECTIONS[name]!(ctx);
      console.log(`\n${section}\n`);
      if (write) {
        // Figures with the servers on CPUs of their own sit beside the shared-core ones, not over them.
        const marker = serverCpus() === undefined ? name : `${name}-split-cpus`;
        writeSection(file, marker, section);
        ctx.say(`updated the ${marker} section of ${path.relative(process.cwd(), file) || file}`);
      }
    } catch (err) {
      // One section failing must not cost the others' figures; its old section stays as it was.
      failed.push(name);
      console.error(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      console.error('server logs are in bench/results/');
    }
    ctx.say(`${name}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  if (failed.length) {
    console.error(`failed sections: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
