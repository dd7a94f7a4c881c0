import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MARK_END, MARK_START, writeSection } from '../../bench/report.js';

describe('writeSection', () => {
  const file = (): string => path.join(mkdtempSync(path.join(tmpdir(), 'shoal-bench-')), 'BENCHMARKS.md');

  it('creates the file with an intro and the marked section', () => {
    const f = file();
    writeSection(f, 'figures');
    const text = readFileSync(f, 'utf8');
    expect(text.startsWith('# Benchmarks')).toBe(true);
    expect(text).toContain(`${MARK_START}\nfigures\n${MARK_END}\n`);
  });

  it('replaces only what lies between the markers', () => {
    const f = file();
    writeFileSync(f, `before\n${MARK_START}\nold\n${MARK_END}\nafter\n`);
    writeSection(f, 'new');
    expect(readFileSync(f, 'utf8')).toBe(`before\n${MARK_START}\nnew\n${MARK_END}\nafter\n`);
  });

  it('appends the section to a file that has no markers yet', () => {
    const f = file();
    writeFileSync(f, '# Mine\n\nhand-written\n');
    writeSection(f, 'x');
    expect(readFileSync(f, 'utf8')).toBe(`# Mine\n\nhand-written\n\n${MARK_START}\nx\n${MARK_END}\n`);
  });
});
