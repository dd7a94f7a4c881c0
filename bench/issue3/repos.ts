/**
 * The two server configurations issue 3 compares: the example models with their example
 * configs (no dynamic batching: each request runs alone), and the same models with
 * `dynamic_batching` switched on. Written afresh under bench/results/ for each run.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { writeExampleRepository } from '../../src/onnx/examples.js';

export const ISSUE3_MODELS = ['mlp', 'text_encoder', 'cnn'] as const;

/**
 * Triton's defaults: no queue delay, so a batch is whatever waits when an instance comes free;
 * under light load a request runs at once, alone, and batches grow only as the queue does.
 */
export const DYNAMIC_BATCHING = { max_queue_delay_microseconds: 0 } as const;

/**
 * The CNN runs as one instance per core, each with one intra-op thread, rather than one instance
 * using every core: two threads of one session meet at a barrier after every operator, so a
 * thread that loses its core for a moment (to the event loop, the load generator, anything)
 * stalls both, and separate instances also overlap one batch's hand-off with another's compute.
 * (b) measures onnxruntime both ways, so the comparison stays one of equal threads.
 *
 * The overload test (c) serves the text encoder the same way, for the same reason: under 5×
 * overload the event loop and the generator keep the cores crowded, and its one two-thread
 * instance spent much of each batch with one thread waiting at a barrier for the other. In five
 * alternating 20 s runs at 3984/s on 2026-11-29 (a fresh `shoal serve` each, a 3 s closed-loop
 * warm-up, then `shoal bench --model text_encoder --binary --batch 4 --dim 128 --deadline-ms 50
 * --rate 3984 --duration 20 --warmup 0`), goodput was 230 to 383/s (mean 339) with one instance
 * and 361 to 720/s (mean 515) with two. (a) keeps the example's one instance on both sides,
 * so batching off and on are compared with the same instances.
 */
export const CNN_INSTANCES = Math.max(1, os.availableParallelism());
/** Models served as one single-threaded instance per core: in every repository, and in the overload test's. */
export const PER_CORE = { always: ['cnn'], overload: ['cnn', 'text_encoder'] } as const;

export async function prepareIssue3Repository(out: string, batching: boolean, perCore: readonly string[] = PER_CORE.always): Promise<void> {
  await rm(out, { recursive: true, force: true });
  const written = await writeExampleRepository(out, { includePretrained: false });
  for (const name of written) {
    if (!(ISSUE3_MODELS as readonly string[]).includes(name)) {
      await rm(path.join(out, name), { recursive: true, force: true });
      continue;
    }
    const file = path.join(out, name, 'config.yaml');
    const config = YAML.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    if (batching) config.dynamic_batching = { ...DYNAMIC_BATCHING };
    else delete config.dynamic_batching;
    if (perCore.includes(name)) config.instance_group = [{ count: CNN_INSTANCES, kind: 'KIND_CPU' }];
    await writeFile(file, `# Written by bench/issue3/repos.ts for npm run bench (dynamic batching ${batching ? 'on' : 'off'}).\n${YAML.stringify(config)}`);
  }
}
