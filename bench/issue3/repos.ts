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
 */
export const CNN_INSTANCES = Math.max(1, os.availableParallelism());

export async function prepareIssue3Repository(out: string, batching: boolean): Promise<void> {
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
    if (name === 'cnn') config.instance_group = [{ count: CNN_INSTANCES, kind: 'KIND_CPU' }];
    await writeFile(file, `# Written by bench/issue3/repos.ts for npm run bench (dynamic batching ${batching ? 'on' : 'off'}).\n${YAML.stringify(config)}`);
  }
}
