/**
 * The warm-up shoal generates when a config has none must be a request the model can actually
 * run: for a sequence model that means the server's own inputs (zero states, constants) too,
 * since the sample goes to the session directly, not through the sequence scheduler.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OnnxBackend } from '../../src/backends/onnx/onnx-backend.js';
import { systemClock } from '../../src/core/clock.js';
import { ModelManager } from '../../src/models/model-manager.js';
import { warmupSamples } from '../../src/models/warmup.js';

describe('generated warm-up', () => {
  let dir: string;
  let manager: ModelManager;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-warmup-'));
    for (const m of ['silero_vad_stream', 'mlp']) await cp(path.join(inject('exampleRepository'), m), path.join(dir, m), { recursive: true });
    manager = new ModelManager({ repository: dir, backend: new OnnxBackend(), clock: systemClock, maxQueueSize: 16 });
    await manager.loadAll();
  });
  afterAll(async () => {
    await manager?.unloadAll();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['silero_vad_stream', 'mlp'])('runs on %s as generated', async (name) => {
    const v = manager.resolve(name);
    const [sample] = warmupSamples(v.config);
    const outputs = await v.sessions[0]!.run(sample!.inputs, v.sessions[0]!.outputs.map((o) => o.name));
    expect(outputs.length).toBe(v.sessions[0]!.outputs.length);
    for (const t of outputs) expect(t.shape.every((d) => d > 0)).toBe(true);
  });

  it("gives a sequence model's state at batch 1 along its batch axis and its constants", () => {
    const [sample] = warmupSamples(manager.resolve('silero_vad_stream').config);
    expect(sample!.inputs.map((t) => [t.name, t.shape])).toEqual([['input', [1, 512]], ['state', [2, 1, 128]], ['sr', []]]);
  });
});
