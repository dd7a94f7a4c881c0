import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { markers, writeSection } from '../../bench/lib/markdown.js';

describe('writeSection', () => {
  const dirs: string[] = [];
  const file = (): string => {
    dirs.push(mkdtempSync(path.join(tmpdir(), 'shoal-bench-')));
    return path.join(dirs[dirs.length - 1]!, 'BENCHMARKS.md');
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const { start: A, end: Z } = markers('issue2');

  it('creates the file with an intro and the marked section', () => {
    const f = file();
    writeSection(f, 'issue2', 'figures');
    const text = readFileSync(f, 'utf8');
    expect(text.startsWith('# Benchmarks')).toBe(true);
    expect(text).toContain(`${A}\nfigures\n${Z}\n`);
  });

  it('replaces only what lies between its own markers, leaving other sections alone', () => {
    const f = file();
    const other = markers('issue5');
    writeFileSync(f, `before\n${A}\nold\n${Z}\nbetween\n${other.start}\ntheirs\n${other.end}\nafter\n`);
    writeSection(f, 'issue2', 'new');
    expect(readFileSync(f, 'utf8')).toBe(`before\n${A}\nnew\n${Z}\nbetween\n${other.start}\ntheirs\n${other.end}\nafter\n`);
  });

  it('appends a section the file does not have yet', () => {
    const f = file();
    writeFileSync(f, `# Mine\n\nhand-written\n\n${A}\nx\n${Z}\n`);
    writeSection(f, 'issue3', 'y');
    const m = markers('issue3');
    expect(readFileSync(f, 'utf8')).toBe(`# Mine\n\nhand-written\n\n${A}\nx\n${Z}\n\n${m.start}\ny\n${m.end}\n`);
  });
});
