import { z } from 'zod';

/**
 * Building blocks for the config schema: strict objects whose errors list the known fields,
 * integers that also arrive as strings, and issue messages a person can act on.
 */

/** A value as an error message shows it: short, and lists and mappings by kind only. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a mapping';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * An integer field. proto3 JSON writes 64-bit integers as strings (tritonclient's JSON
 * output does), so decimal strings are accepted too.
 */
export function int(min: number) {
  return z.unknown().transform((v, ctx) => {
    const n = typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : v;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= min) return n;
    ctx.addIssue({ code: 'custom', message: v === undefined ? 'is required' : `expected an integer >= ${min}, got ${show(v)}` });
    return z.NEVER;
  });
}

export const nonEmpty = z.string().min(1, { error: 'must not be empty' });

// Values Triton prints for settings left at their defaults.
const DEFAULT_ENUM_VALUES = new Set(['', '0', 'FORMAT_NONE', 'PRIORITY_DEFAULT', 'REJECT']);

function isUnset(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0) return true;
  if (typeof v === 'string') return DEFAULT_ENUM_VALUES.has(v);
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v).every(isUnset);
  return false;
}

/** One message for a strict object's unknown keys: a likely intended field, else the known ones. */
function unknownFields(keys: readonly string[], known: readonly string[]): string {
  return keys.map((key) => {
    const near = known.find((k) => editDistance(k, key) <= 2);
    return `unknown field ${JSON.stringify(key)} (${near ? `did you mean ${JSON.stringify(near)}?` : `known fields: ${known.join(', ')}`})`;
  }).join('; ');
}

/** Levenshtein distance, to suggest the field a typo meant. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** For each tolerated Triton field: values besides "unset" that mean the default, or 'never'. */
type Tolerated = Record<string, readonly unknown[] | 'never'>;

/**
 * A strict object (unknown fields are errors that list the known ones), which also accepts
 * the `tolerated` Triton fields at their defaults and drops them. A YAML key with nothing
 * under it (null) counts as an empty mapping: `all:` means `all: {}`.
 */
export function strict<S extends z.ZodRawShape>(shape: S, tolerated: Tolerated = {}) {
  const known = Object.keys(shape);
  const obj = z.strictObject(shape, {
    error: (iss) => iss.code === 'unrecognized_keys' ? unknownFields(iss.keys, known) : undefined,
  });
  return z.preprocess((v, ctx) => {
    if (v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) return v;
    const rest: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    for (const [key, defaults] of Object.entries(tolerated)) {
      if (!(key in rest)) continue;
      const value = rest[key];
      delete rest[key];
      if (defaults !== 'never' && (isUnset(value) || defaults.some((d) => JSON.stringify(d) === JSON.stringify(value)))) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: defaults === 'never'
          ? 'is a Triton feature shoal does not support'
          : 'is a Triton setting shoal does not support; only its default value is accepted',
      });
    }
    return rest;
  }, obj);
}

/**
 * proto3's map<uint64, message> as a mapping whose keys are integers (JSON writes them as
 * strings). Keys are checked by hand before anything is stored, so '__proto__' is refused
 * instead of becoming the result's prototype.
 */
export function integerKeyed<T extends z.ZodType>(value: T, keyName: string) {
  return z.unknown().transform((rec, ctx) => {
    const out: Record<string, z.output<T>> = {};
    if (rec === null || rec === undefined) return out;
    if (typeof rec !== 'object' || Array.isArray(rec)) {
      ctx.addIssue({ code: 'custom', message: `expected a mapping from ${keyName} to settings, got ${show(rec)}` });
      return out;
    }
    for (const [key, v] of Object.entries(rec)) {
      if (!/^[0-9]+$/.test(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${JSON.stringify(key)} is not a ${keyName} (expected an integer)` });
        continue;
      }
      const parsed = value.safeParse(v, { reportInput: true });
      if (parsed.success) out[key] = parsed.data;
      else for (const iss of parsed.error.issues) ctx.addIssue({ code: 'custom', path: [key, ...iss.path], message: describeIssue(iss) });
    }
    return out;
  });
}

/** `input[0].dims[1]`: a field path the way a reader of the file would write it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p))) out += out ? `.${String(p)}` : String(p);
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

const TYPE_WORDS: Record<string, string> = {
  number: 'a number', string: 'a string', boolean: 'true or false', array: 'a list', object: 'a mapping', record: 'a mapping',
};

export function describeIssue(iss: z.core.$ZodIssue): string {
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) return 'is required';
    return `expected ${TYPE_WORDS[iss.expected] ?? iss.expected}, got ${show(iss.input)}`;
  }
  if (iss.code === 'invalid_value') {
    return `expected one of ${iss.values.map(String).join(', ')}, got ${show(iss.input)}`;
  }
  return iss.message;
}
