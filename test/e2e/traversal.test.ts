import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSizedRepository } from '../../bench/lib/sized-models.js';
import { type ServerProcess, spawnServer } from '../support/process.js';

/**
 * Model names from requests must never reach the filesystem: with on-demand loading a request
 * for an unknown name could be tempted to look for it on disk. A model directory outside the
 * repository (a sibling, reachable by ../) must stay unreachable, and no file may appear.
 */
let root: string;
let server: ServerProcess;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'shoal-traversal-'));
  await writeSizedRepository(path.join(root, 'repo'), [{ name: 'inside', tag: 1, bytes: 4096 }]);
  // A valid model next to the repository: reachable only by a path that leaves it.
  await writeSizedRepository(path.join(root, 'outside'), [{ name: 'secret', tag: 7, bytes: 4096 }]);
  await writeFile(path.join(root, 'marker'), '');
  server = await spawnServer(['--model-repository', path.join(root, 'repo'), '--memory-budget', '1GiB']);
}, 30_000);

afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  await rm(root, { recursive: true, force: true });
});

const NAMES = [
  '..', '../outside/secret', '..%2Foutside%2Fsecret', '%2E%2E%2Foutside%2Fsecret', '..%5Coutside%5Csecret',
  'ABSOLUTE', '%2Fetc%2Fpasswd', 'inside%00', 'secret', '.hidden',
];

describe('model names that try to leave the repository', () => {
  it.each(NAMES)('%s is refused or unknown on every route, and loads nothing', async (given) => {
    // The absolute path of the model outside, known only once the temp dir exists.
    const name = given === 'ABSOLUTE' ? encodeURIComponent(path.join(root, 'outside', 'secret')) : given;
    const routes: Array<[string, string]> = [
      ['POST', `/v2/models/${name}/infer`], ['GET', `/v2/models/${name}`], ['GET', `/v2/models/${name}/ready`],
      ['GET', `/v2/models/${name}/config`], ['POST', `/v2/repository/models/${name}/load`], ['POST', `/v2/repository/models/${name}/unload`],
    ];
    for (const [method, url] of routes) {
      const res = await fetch(`${server.url}${url}`, {
        method, headers: { 'content-type': 'application/json' },
        ...(method === 'POST' && { body: url.endsWith('/infer') ? JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(1) }] }) : '{}' }),
      });
      expect([400, 404], `${method} ${url}: ${res.status}`).toContain(res.status);
    }
  });

  it('left the filesystem as it was and loaded no model from outside', async () => {
    expect((await readdir(root)).sort()).toEqual(['marker', 'outside', 'repo']);
    expect(server.logs.filter((l) => l.msg === 'model loaded').map((l) => l.model)).not.toContain('secret');
    const index = (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).json()) as Array<{ name: string }>;
    expect(index.map((e) => e.name)).toEqual(['inside']);
  });
});
