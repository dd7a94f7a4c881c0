import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/core/errors.js';
import { parseTenants } from '../../src/tenants/config.js';
import { compilePatterns } from '../../src/tenants/patterns.js';
import { Tenants } from '../../src/tenants/tenants.js';

const FILE = `
tenants:
  - name: a
    keys: [{ key: key-of-tenant-a-0001 }]
    models: ["*"]
    private_models: ["a-*"]
    rate_limit: { requests_per_second: 1, burst: 2 }
    max_inflight: 1
  - name: b
    keys: [{ key: key-of-tenant-b-0002 }]
    models: ["shared-*"]
    private_models: ["b-*", "joint"]
    weight: 2
  - name: c
    keys: [{ key: key-of-tenant-c-0003 }]
    models: ["shared-?"]
    private_models: ["joint"]
`;
const tenants = () => new Tenants(parseTenants(FILE, 'tenants.yaml'));

describe('patterns', () => {
  it('* is any run of characters, ? one character, the rest literal, and the whole name must match', () => {
    const m = compilePatterns(['team-a-*', 'v?.onnx', 'exact']);
    expect(['team-a-', 'team-a-ocr', 'v1.onnx', 'exact'].map(m)).toEqual([true, true, true, true]);
    expect(['team-b-ocr', 'xteam-a-1', 'v10.onnx', 'v1xonnx', 'exact2', 'exac'].map(m)).toEqual([false, false, false, false, false, false]);
    expect(compilePatterns([])('anything')).toBe(false);
    expect(compilePatterns(['*'])('anything')).toBe(true);
    expect(compilePatterns(['a(b)+[c]'])('a(b)+[c]')).toBe(true);
  });
});

describe('which models a tenant may use', () => {
  const [a, b, c] = tenants().list;

  it('its models, less every private model that is not its own', () => {
    expect(['shared-1', 'other', 'a-secret'].map((m) => a!.mayUse(m))).toEqual([true, true, true]);
    expect(a!.mayUse('b-secret')).toBe(false); // "*" does not reach b's private models
    expect(a!.mayUse('joint')).toBe(false);
    expect(['shared-1', 'b-secret', 'joint'].map((m) => b!.mayUse(m))).toEqual([true, true, true]);
    expect(['other', 'a-secret'].map((m) => b!.mayUse(m))).toEqual([false, false]);
  });

  it('a private model may be shared by naming it in several tenants\' private_models', () => {
    expect(c!.mayUse('joint')).toBe(true);
    expect(c!.mayUse('shared-1')).toBe(true);
    expect(c!.mayUse('shared-12')).toBe(false);
  });
});

describe('authentication', () => {
  it('finds the tenant of a bearer token; the scheme is case-insensitive', () => {
    const t = tenants();
    expect(t.authenticate('Bearer key-of-tenant-b-0002').tenant?.name).toBe('b');
    expect(t.authenticate('bearer key-of-tenant-a-0001').tenant?.name).toBe('a');
  });

  it('says why there is no tenant, and gives a digest prefix for logs, never the key', () => {
    const t = tenants();
    expect(t.authenticate(undefined)).toMatchObject({ problem: 'missing' });
    expect(t.authenticate('Basic dXNlcjpwYXNz')).toMatchObject({ problem: 'malformed' });
    expect(t.authenticate('Bearer')).toMatchObject({ problem: 'malformed' });
    const unknown = t.authenticate('Bearer not-a-key-of-anyone');
    expect(unknown).toMatchObject({ problem: 'unknown', message: 'the API key is not valid' });
    expect(unknown.tenant).toBeUndefined();
    if (!unknown.tenant) {
      expect(unknown.keyDigestPrefix).toMatch(/^[0-9a-f]{8}$/);
      expect(JSON.stringify(unknown)).not.toContain('not-a-key-of-anyone');
    }
  });
});

describe('admission of a tenant\'s requests (virtual clock)', () => {
  const refusal = (f: () => void): ShoalError => {
    try {
      f();
    } catch (e) {
      return e as ShoalError;
    }
    throw new Error('admitted');
  };

  it('refuses past the rate limit with Retry-After, and lets the next token through', () => {
    const t = tenants();
    const a = t.list[0]!;
    t.admit(a, 0);
    t.release(a);
    t.admit(a, 0);
    t.release(a);
    const e = refusal(() => t.admit(a, 0));
    expect(e).toMatchObject({ kind: 'overloaded', reason: 'rate_limit', retryAfterSeconds: 1 });
    expect(e.message).toBe("tenant 'a' is over its rate limit of 1 requests a second (burst 2)");
    t.admit(a, 1000);
  });

  it('refuses past the concurrency quota without spending a token, until a request is released', () => {
    const t = tenants();
    const a = t.list[0]!;
    t.admit(a, 0);
    expect(refusal(() => t.admit(a, 0))).toMatchObject({ kind: 'overloaded', reason: 'concurrency_quota' });
    t.release(a);
    t.admit(a, 0); // the second token is still there: the refusal above took none
  });

  it('a tenant without limits is never refused', () => {
    const t = tenants();
    for (let i = 0; i < 1000; i++) t.admit(t.list[1]!, 0);
  });
});
