/**
 * The repositories issue 3's bench compares: batching off and on must differ only in dynamic
 * batching, with the same instances, and the overload test's gives the text encoder one
 * single-threaded instance per core, as the CNN has everywhere.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { CNN_INSTANCES, PER_CORE, prepareIssue3Repository } from '../../bench/issue3/repos.js';

const root = await mkdtemp(path.join(os.tmpdir(), 'shoal-issue3-repos-'));
afterAll(() => rm(root, { recursive: true, force: true }));

async function configs(dir: string): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of await readdir(dir)) out[name] = YAML.parse(await readFile(path.join(dir, name, 'config.yaml'), 'utf8')) as Record<string, unknown>;
  return out;
}

const count = (c: Record<string, unknown> | undefined): unknown => (c?.instance_group as Array<{ count: number }> | undefined)?.[0]?.count;

describe('prepareIssue3Repository', () => {
  it('writes the three models; off and on differ only in dynamic batching; the overload repository runs the text encoder per core', async () => {
    const [off, on, overload] = ['off', 'on', 'overload'].map((n) => path.join(root, n)) as [string, string, string];
    await prepareIssue3Repository(off, false);
    await prepareIssue3Repository(on, true);
    await prepareIssue3Repository(overload, true, PER_CORE.overload);
    const [a, b, c] = await Promise.all([configs(off), configs(on), configs(overload)]);
    expect(Object.keys(a).sort()).toEqual(['cnn', 'mlp', 'text_encoder']);
    for (const m of Object.keys(a)) {
      expect(a[m]!.dynamic_batching).toBeUndefined();
      expect(b[m]!.dynamic_batching).toEqual({ max_queue_delay_microseconds: 0 });
      const { dynamic_batching: _, ...rest } = b[m]!;
      expect(rest).toEqual(a[m]);
    }
    expect(count(a.cnn)).toBe(CNN_INSTANCES);
    expect(count(b.text_encoder)).toBe(1);
    expect(count(c.text_encoder)).toBe(CNN_INSTANCES);
    expect(count(c.cnn)).toBe(CNN_INSTANCES);
  });
});
