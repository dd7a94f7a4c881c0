import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTenantsFile, parseTenants } from '../../src/tenants/config.js';

const hex = (key: string) => createHash('sha256').update(key).digest('hex');
const KEY = 'a-long-random-key-0001';

describe('tenants file', () => {
  it('reads YAML with defaults: keys become digests, no limits unless given, weight 1, not admin', () => {
    const cfg = parseTenants([
      'tenants:',
      `  - name: team-a`,
      `    keys: [{ key: ${KEY} }, { key_sha256: ${hex('another-long-key-0002').toUpperCase()} }]`,
      '    models: ["shared-*"]',
      '    private_models: [team-a-*]',
      '    rate_limit: { requests_per_second: 2.5 }',
      '    max_inflight: 4',
      '    weight: 3',
      '  - name: ops',
      `    keys: [{ key_sha256: ${hex('ops-key-000000000003')} }]`,
      '    admin: true',
    ].join('\n'), 'tenants.yaml');
    const [a, ops] = cfg.tenants;
    expect(a!.keyDigests.map((d) => d.toString('hex'))).toEqual([hex(KEY), hex('another-long-key-0002')]);
    expect(a).toMatchObject({ name: 'team-a', models: ['shared-*'], privateModels: ['team-a-*'], rateLimit: { requestsPerSecond: 2.5, burst: 3 }, maxInflight: 4, weight: 3, admin: false });
    expect(ops).toMatchObject({ name: 'ops', models: [], privateModels: [], maxInflight: Infinity, weight: 1, admin: true });
    expect(ops!.rateLimit).toBeUndefined();
  });

  it('reads JSON too', () => {
    const cfg = parseTenants(JSON.stringify({ tenants: [{ name: 'x', keys: [{ key: KEY }], models: ['*'] }] }), 'tenants.json');
    expect(cfg.tenants[0]!.models).toEqual(['*']);
  });

  const error = (yaml: string) => {
    try {
      parseTenants(yaml, '/etc/shoal/tenants.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  it('names the file and the field of each mistake', () => {
    expect(error('tenants:\n  - name: a\n    keys: [{ key_sha256: abc }]\n')).toBe(
      'tenants file /etc/shoal/tenants.yaml: tenants[0].keys[0].key_sha256: must be 64 hex digits: the SHA-256 digest of the key');
    expect(error(`tenants:\n  - name: a\n    keys: [{ key: ${KEY} }]\n    weight: 0\n`)).toMatch(/tenants\.yaml: tenants\[0\]\.weight: expected a positive number, got 0/);
    expect(error(`tenants:\n  - name: a\n    keys: [{ key: ${KEY} }]\n    rate_limit: { requests_per_second: 5, burst: 0 }\n`)).toMatch(/tenants\[0\]\.rate_limit\.burst: expected an integer >= 1, got 0/);
    expect(error(`tenants:\n  - name: a\n    keys: [{ key: ${KEY} }]\n    modles: ["*"]\n`)).toMatch(/tenants\[0\]: unknown field "modles" \(did you mean "models"\?\)/);
    expect(error(`tenants:\n  - name: a\n    keys: [{ key: ${KEY} }]\n    models: ["a/b"]\n`)).toMatch(/tenants\[0\]\.models\[0\]: is not a model name pattern/);
    expect(error('tenants:\n  - name: "a b"\n    keys: []\n')).toMatch(/tenants\[0\]\.name: must be 1-64 letters.*tenants\[0\]\.keys: needs at least one key/);
    expect(error('tenants: []\n')).toMatch(/tenants: lists no tenants/);
    expect(error('tenants:\n  - name: a\n    keys: [{ key: short }]\n')).toMatch(/tenants\[0\]\.keys\[0\]\.key: must be at least 16 characters/);
    expect(error(`tenants:\n  - name: a\n    keys: [{ key: ${KEY}, key_sha256: ${hex(KEY)} }]\n`)).toMatch(/tenants\[0\]\.keys\[0\]: give exactly one of key or key_sha256/);
    expect(error('tenants: [\n')).toMatch(/^tenants file \/etc\/shoal\/tenants\.yaml: /);
  });

  it('refuses a tenant name given twice, and a key shared by two tenants, without printing the key', () => {
    const msg = error(`tenants:\n  - name: a\n    keys: [{ key: ${KEY} }]\n  - name: a\n    keys: [{ key_sha256: ${hex(KEY)} }]\n`);
    expect(msg).toMatch(/tenants\[1\]\.name: "a" is already the name of tenants\[0\]/);
    expect(msg).toMatch(/tenants\[1\]\.keys\[0\]: is also a key of tenant "a"/);
    expect(msg).not.toContain(KEY);
  });

  it('loads a file, and says which file it could not read', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-tenants-'));
    try {
      const file = path.join(dir, 'tenants.yaml');
      await writeFile(file, `tenants:\n  - name: a\n    keys: [{ key: ${KEY} }]\n`);
      expect((await loadTenantsFile(file)).tenants[0]!.name).toBe('a');
      await expect(loadTenantsFile(path.join(dir, 'missing.yaml'))).rejects.toThrow(`cannot read the tenants file ${path.join(dir, 'missing.yaml')}: ENOENT`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
