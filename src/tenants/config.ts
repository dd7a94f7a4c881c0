import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { z } from 'zod';
import { describeIssue, formatPath, int, show, strict } from '../repository/fields.js';
import { isPattern } from './patterns.js';

/**
 * The tenants file (`shoal serve --tenants FILE`, YAML or JSON): who may call the server, with
 * which API keys, on which models, how fast and how much at once, and with what share of a
 * busy model. A shoal addition; Triton has no tenants.
 *
 * ```yaml
 * tenants:
 *   - name: team-a
 *     keys: [{ key_sha256: 5e8848…(64 hex digits) }]   # or { key: the-key-itself }
 *     models: ["shared-*"]            # models it may use (patterns: * and ?)
 *     private_models: ["team-a-*"]    # models only tenants naming them here may use or see
 *     rate_limit: { requests_per_second: 50, burst: 100 }
 *     max_inflight: 16
 *     weight: 2
 *     admin: false                    # repository load/unload and /metrics
 * ```
 */

/** A tenant as the server uses it; keys are kept only as SHA-256 digests. */
export interface TenantConfig {
  name: string;
  /** SHA-256 digests of the tenant's API keys. */
  keyDigests: Buffer[];
  models: string[];
  privateModels: string[];
  /** Absent: no rate limit. */
  rateLimit?: { requestsPerSecond: number; burst: number };
  /** Requests in flight at once; Infinity: no quota. */
  maxInflight: number;
  weight: number;
  admin: boolean;
}

export interface TenantsConfig {
  tenants: TenantConfig[];
}

/** Bounded, so that tenant names can be metric labels and log fields as they are. */
const TENANT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MIN_KEY_LENGTH = 16;

const key = strict({
  key: z.string().min(MIN_KEY_LENGTH, { error: `must be at least ${MIN_KEY_LENGTH} characters (use a long random key)` }).optional(),
  key_sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, { error: 'must be 64 hex digits: the SHA-256 digest of the key' }).optional(),
}).superRefine((k, ctx) => {
  if ((k.key === undefined) === (k.key_sha256 === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of key or key_sha256' });
});

const pattern = z.string().refine(isPattern, { error: 'is not a model name pattern (1-255 characters, no "/", "\\" or control characters; * and ? are wildcards)' });

const positive = z.number({ error: (iss) => `expected a positive number, got ${show(iss.input)}` }).positive({ error: (iss) => `expected a positive number, got ${show(iss.input)}` });

const tenant = strict({
  name: z.string().regex(TENANT_NAME, { error: 'must be 1-64 letters, digits, ".", "_" or "-"' }),
  keys: z.array(key).min(1, { error: 'needs at least one key' }),
  models: z.array(pattern).default([]),
  private_models: z.array(pattern).default([]),
  rate_limit: strict({ requests_per_second: positive, burst: int(1).optional() }).optional(),
  max_inflight: int(1).optional(),
  weight: positive.default(1),
  admin: z.boolean().default(false),
});

const fileSchema = strict({ tenants: z.array(tenant).min(1, { error: 'lists no tenants' }) });

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Parses and checks a tenants file's text; `file` names it in errors, each of which names the field. */
export function parseTenants(text: string, file: string): TenantsConfig {
  let raw: unknown;
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const problem = doc.errors[0];
  if (problem) {
    // The first line only: the rest quotes the file, which may hold keys.
    const where = problem.linePos ? `line ${problem.linePos[0].line}, column ${problem.linePos[0].col}: ` : '';
    throw new Error(`tenants file ${file}: ${where}${problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new Error(`tenants file ${file}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = fileSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!parsed.success) throw fileError(file, parsed.error.issues.map((i) => ({ path: i.path, message: describeIssue(i) })));

  const issues: Array<{ path: PropertyKey[]; message: string }> = [];
  const names = new Map<string, number>();
  const owners = new Map<string, string>();
  const tenants = parsed.data.tenants.map((t, i): TenantConfig => {
    if (names.has(t.name)) issues.push({ path: ['tenants', i, 'name'], message: `${JSON.stringify(t.name)} is already the name of tenants[${names.get(t.name)}]` });
    names.set(t.name, i);
    const keyDigests = t.keys.map((k, j) => {
      const digest = k.key_sha256 !== undefined ? Buffer.from(k.key_sha256, 'hex') : sha256(k.key!);
      const hex = digest.toString('hex');
      const owner = owners.get(hex);
      // Which key it is stays out of the message: the file may hold it in plain text.
      if (owner !== undefined) issues.push({ path: ['tenants', i, 'keys', j], message: `is also a key of ${owner}; each key must identify one tenant` });
      owners.set(hex, `tenant ${JSON.stringify(t.name)}`);
      return digest;
    });
    const out: TenantConfig = {
      name: t.name, keyDigests, models: t.models, privateModels: t.private_models,
      maxInflight: t.max_inflight ?? Infinity, weight: t.weight, admin: t.admin,
    };
    if (t.rate_limit) {
      const rps = t.rate_limit.requests_per_second;
      out.rateLimit = { requestsPerSecond: rps, burst: t.rate_limit.burst ?? Math.max(1, Math.ceil(rps)) };
    }
    return out;
  });
  if (issues.length > 0) throw fileError(file, issues);
  return { tenants };
}

export async function loadTenantsFile(file: string): Promise<TenantsConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the tenants file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parseTenants(text, file);
}

const MAX_REPORTED_ISSUES = 5;

function fileError(file: string, issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>): Error {
  const parts = issues.slice(0, MAX_REPORTED_ISSUES).map((i) => (i.path.length ? `${formatPath(i.path)}: ${i.message}` : i.message));
  if (issues.length > MAX_REPORTED_ISSUES) parts.push(`and ${issues.length - MAX_REPORTED_ISSUES} more problems`);
  return new Error(`tenants file ${file}: ${parts.join('; ')}`);
}
