/**
 * Model name patterns in a tenants file: `*` stands for any run of characters (none included),
 * `?` for exactly one; everything else matches itself. `team-a-*` matches `team-a-ocr`, `*`
 * matches every name. A name must match a pattern whole, not a part of it.
 */

// Control characters could forge log lines; separators have no place in a model name.
// eslint-disable-next-line no-control-regex
const PATTERN = /^[^\u0000-\u001f\u007f/\\]{1,255}$/;

/** Whether `p` can be a pattern: a name's characters (no separators, no controls) plus the wildcards. */
export function isPattern(p: string): boolean {
  return PATTERN.test(p);
}

/** One test for a list of patterns; with none, nothing matches. */
export function compilePatterns(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => false;
  if (patterns.includes('*')) return () => true;
  const literal = new Set(patterns.filter((p) => !/[*?]/.test(p)));
  const globs = patterns.filter((p) => /[*?]/.test(p));
  if (globs.length === 0) return (name) => literal.has(name);
  const re = new RegExp(`^(?:${globs.map(globSource).join('|')})$`, 's');
  return (name) => literal.has(name) || re.test(name);
}

function globSource(glob: string): string {
  let out = '';
  for (const ch of glob) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}
