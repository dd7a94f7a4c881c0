import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { markers } from './lib/markdown.js';

/**
 * Issue 6's part of BENCHMARKS.md: one `issue6` block holding a fidelity and a scale section
 * (and any `extra` ones, such as the fidelity run with the server on CPUs of its own), so each
 * script rewrites only its own section (writeSection finds it by its markers). A section
 * missing from a block already there is added at its end; what the block holds stays.
 */
export function ensureIssue6Block(file: string, extra: string[] = []): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const outer = markers('issue6');
  const parts = [...new Set(['issue6-fidelity', 'issue6-scale', ...extra])].map(markers);
  const start = text.indexOf(outer.start);
  const end = text.indexOf(outer.end);
  if (start >= 0 && end > start) {
    const missing = parts.filter((p) => !text.includes(p.start));
    if (missing.length === 0) return;
    const added = missing.map((p) => `${p.start}\n${p.end}\n`).join('\n');
    writeFileSync(file, `${text.slice(0, end).trimEnd()}\n\n${added}${text.slice(end)}`);
    return;
  }
  const inner = parts.map((p) => `${p.start}\n${p.end}`).join('\n\n');
  writeFileSync(file, `${text.trimEnd()}\n\n${outer.start}\n## Issue 6: the cluster simulator\n\n${inner}\n${outer.end}\n`);
}
