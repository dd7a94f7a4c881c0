import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { markers } from './lib/markdown.js';

/**
 * Issue 6's part of BENCHMARKS.md: one `issue6` block holding a fidelity and a scale section,
 * so each script rewrites only its own section (writeSection finds it by its markers).
 */
export function ensureIssue6Block(file: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const outer = markers('issue6');
  const parts = ['issue6-fidelity', 'issue6-scale'].map(markers);
  if (text.includes(outer.start) && parts.every((p) => text.includes(p.start))) return;
  const inner = parts.map((p) => `${p.start}\n${p.end}`).join('\n\n');
  const block = `${outer.start}\n## Issue 6: the cluster simulator\n\n${inner}\n${outer.end}`;
  const start = text.indexOf(outer.start);
  const end = text.indexOf(outer.end);
  const next = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + outer.end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}
