import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureBatches, measureParallel } from '../../bench/baselines/ort-direct.js';
import { writeExampleRepository } from '../../src/onnx/examples.js';

describe('ort-direct: the engine ceiling the CNN bench divides by', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shoal-ort-direct-'));
  const file = path.join(dir, 'mlp', '1', 'model.onnx');
  beforeAll(async () => {
    await writeExampleRepository(dir, { includePretrained: false });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one session per worker thread at once and counts every run of every session', async () => {
    const two = await measureParallel(file, { sessions: 2, threads: 1, batch: 4, seconds: 0.2, dim: 1 });
    // Each session runs at least 20 batches, so two of them report at least 40.
    expect(two.runs).toBeGreaterThanOrEqual(40);
    expect(two.batch).toBe(4);
    expect(two.inferencesPerS).toBeGreaterThan(0);
    expect(two.p50Ms).toBeGreaterThan(0);
    expect(two.p99Ms).toBeGreaterThanOrEqual(two.p50Ms);
  });

  it('gives one session in a worker about what the same session gives in-process (same work measured)', async () => {
    const [direct] = await measureBatches(file, { batches: [8], seconds: 0.3, dim: 1, threads: 1 });
    const worker = await measureParallel(file, { sessions: 1, threads: 1, batch: 8, seconds: 0.3, dim: 1 });
    // Loose: this only catches a worker that measured something else (wrong batch, no runs).
    expect(worker.inferencesPerS).toBeGreaterThan(direct!.inferencesPerS / 10);
    expect(worker.inferencesPerS).toBeLessThan(direct!.inferencesPerS * 10);
  });
});
