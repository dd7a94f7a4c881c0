import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { markers } from '../../bench/lib/markdown.js';
import { ensureIssue6Block } from '../../bench/sim-section.js';

const file = (text: string): string => {
  const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'shoal-section-')), 'BENCHMARKS.md');
  writeFileSync(f, text);
  return f;
};

describe("issue 6's block in BENCHMARKS.md", () => {
  it('is added with its sections where it is missing', () => {
    const f = file('# Benchmarks\n\nother text\n');
    ensureIssue6Block(f);
    const text = readFileSync(f, 'utf8');
    expect(text.startsWith('# Benchmarks\n\nother text')).toBe(true);
    for (const name of ['issue6', 'issue6-fidelity', 'issue6-scale']) expect(text).toContain(markers(name).start);
  });

  it('gains a missing section at its end and keeps what it holds', () => {
    const fidelity = markers('issue6-fidelity');
    const scale = markers('issue6-scale');
    const outer = markers('issue6');
    const held = `${outer.start}\n## Issue 6\n\n${fidelity.start}\nfigures\n${fidelity.end}\n\nnotes written by hand\n\n${scale.start}\nmore\n${scale.end}\n${outer.end}\nafter\n`;
    const f = file(held);
    ensureIssue6Block(f, ['issue6-fidelity-split-cpus']);
    const text = readFileSync(f, 'utf8');
    const split = markers('issue6-fidelity-split-cpus');
    expect(text).toContain('figures');
    expect(text).toContain('notes written by hand');
    expect(text.indexOf(split.start)).toBeGreaterThan(text.indexOf(scale.end));
    expect(text.indexOf(split.end)).toBeLessThan(text.indexOf(outer.end));
    expect(text.endsWith('after\n')).toBe(true);
    ensureIssue6Block(f, ['issue6-fidelity-split-cpus']);
    expect(readFileSync(f, 'utf8')).toBe(text);
  });
});
