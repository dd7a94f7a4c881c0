/**
 * `shoal serve` as a user starts it: without a tenants file only on loopback unless told
 * otherwise, a tenants file with a mistake named by file and field, and, with tenants on an
 * open address, a standard output that never holds a key.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ServerProcess, spawnServer } from '../support/process.js';

const KEY = 'startup-test-key-1b7e55c0a9';
const BAD_KEY = 'startup-wrong-key-77d0e1f3a2';

describe('starting shoal serve with and without tenants', () => {
  let dir: string;
  let repo: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-tenants-start-'));
    repo = path.join(dir, 'models');
    await cp(path.join(inject('exampleRepository'), 'identity_fp32'), path.join(repo, 'identity_fp32'), { recursive: true });
    await writeFile(path.join(dir, 'tenants.yaml'), `tenants:\n  - name: t\n    keys: [{ key: ${KEY} }]\n    models: ["*"]\n`);
    await writeFile(path.join(dir, 'bad.yaml'), 'tenants:\n  - name: t\n    keys: [{ key_sha256: nope }]\n');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const stop = async (s: ServerProcess) => {
    s.child.kill('SIGTERM');
    await s.exited;
  };

  it('refuses to start on 0.0.0.0 without a tenants file, saying what to do', async () => {
    await expect(spawnServer(['--model-repository', repo, '--host', '0.0.0.0'])).rejects.toThrow(
      /server exited with 1 before it was ready: shoal: refusing to serve without authentication on 0\.0\.0\.0.*--tenants FILE.*--allow-unauthenticated/,
    );
  });

  it('starts on 0.0.0.0 without tenants when told --allow-unauthenticated', async () => {
    const s = await spawnServer(['--model-repository', repo, '--host', '0.0.0.0', '--allow-unauthenticated']);
    try {
      const r = await request(`${s.url}/v2/models/identity_fp32`);
      expect(r.statusCode).toBe(200);
      await r.body.dump();
    } finally {
      await stop(s);
    }
  });

  it('refuses a tenants file with a mistake, naming the file and the field', async () => {
    const file = path.join(dir, 'bad.yaml');
    await expect(spawnServer(['--model-repository', repo, '--tenants', file])).rejects.toThrow(
      `shoal: tenants file ${file}: tenants[0].keys[0].key_sha256: must be 64 hex digits`,
    );
  });

  it('with tenants on 0.0.0.0, serves with a key, refuses without, and writes no key to standard output', async () => {
    const s = await spawnServer(['--model-repository', repo, '--host', '0.0.0.0', '--tenants', path.join(dir, 'tenants.yaml')]);
    const out: string[] = [];
    s.child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
    try {
      const body = JSON.stringify({ inputs: [{ name: 'INPUT_FP32', datatype: 'FP32', shape: [2], data: [1.5, -2] }] });
      const ask = async (key?: string) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (key) headers.authorization = `Bearer ${key}`;
        const r = await request(`${s.url}/v2/models/identity_fp32/infer`, { method: 'POST', headers, body });
        return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
      };
      const ok = await ask(KEY);
      expect(ok.status).toBe(200);
      expect((ok.json.outputs as Array<{ data: number[] }>)[0]!.data).toEqual([1.5, -2]);
      expect((await ask(BAD_KEY)).status).toBe(401);
      expect((await ask()).status).toBe(401);
    } finally {
      await stop(s);
    }
    const stdout = JSON.stringify(s.logs) + out.join('');
    expect(s.logs.some((l) => l.msg === 'request refused: credentials' && l.key_sha256_prefix === createHash('sha256').update(BAD_KEY).digest('hex').slice(0, 8))).toBe(true);
    expect(stdout).not.toContain(KEY);
    expect(stdout).not.toContain(BAD_KEY);
  });
});
