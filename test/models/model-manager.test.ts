import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Backend, BackendSession, LoadSpec } from '../../src/backends/backend.js';
import { type WireTensor, dataTypeFromOrt, fromWire, toWire } from '../../src/backends/onnx/convert.js';
import { OnnxBackend } from '../../src/backends/onnx/onnx-backend.js';
import { type Clock, VirtualClock, systemClock } from '../../src/core/clock.js';
import { ShoalError } from '../../src/core/errors.js';
import type { Tensor, TensorSpec } from '../../src/core/tensor.js';
import { type LoadCause, ModelManager, type ModelManagerOptions, type ModelVersion } from '../../src/models/model-manager.js';
import { SIZED_INPUT, sizedAnswer, writeSizedRepository } from '../../bench/lib/sized-models.js';

/**
 * Real onnxruntime sessions behind a backend that reports each session's footprint as its file
 * size, so that how many models fit under a budget is exact arithmetic here (measuring the real
 * footprint is the OnnxBackend's job, tested at the end). It also counts runs, to see warm-ups.
 *
 * The sessions are made on this thread (`inline`) unless a test asks for the OnnxBackend's
 * worker threads: under vitest each worker registers tsx before it loads anything, half a second
 * to a second a load on this 2-core machine, and these tests are about what the manager does
 * with sessions, not where they run. The OnnxBackend's own loading as the manager uses it (from
 * a path, from the host cache's bytes, a bad file) is tested at the end, and the manager with
 * worker-backed sessions end to end in test/e2e/memory.test.ts.
 */
class CountingBackend implements Backend {
  readonly name = 'onnxruntime (footprint = file size)';
  private readonly worker: OnnxBackend | undefined;
  readonly runs = new Map<string, number>();
  readonly loadsFrom: Array<'bytes' | 'path'> = [];
  /** Every load waits for this first, when set: a test holds the lane with it. */
  gate: Promise<void> | undefined;
  /** The model files loads were started for, in order. */
  readonly started: string[] = [];

  constructor(where: 'inline' | 'worker') {
    this.worker = where === 'worker' ? new OnnxBackend() : undefined;
  }

  async load(spec: LoadSpec): Promise<BackendSession> {
    this.started.push(path.basename(path.dirname(path.dirname(spec.path))));
    await this.gate;
    this.loadsFrom.push(spec.bytes ? 'bytes' : 'path');
    const s = this.worker ? await this.worker.load(spec) : await loadInline(spec);
    const bytes = spec.bytes?.byteLength ?? (await stat(spec.path)).size;
    const runs = this.runs;
    const key = spec.path;
    return {
      inputs: s.inputs, outputs: s.outputs, footprintBytes: bytes,
      run(inputs: Tensor[], names: string[]) {
        runs.set(key, (runs.get(key) ?? 0) + 1);
        return s.run(inputs, names);
      },
      unload: () => s.unload(),
    };
  }
}

/** An onnxruntime session on this thread, failing a load the way OnnxBackend does. */
async function loadInline(spec: LoadSpec): Promise<BackendSession> {
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: spec.graphOptimizationLevel, executionMode: 'sequential', intraOpNumThreads: 1, interOpNumThreads: 1 };
  let session: ort.InferenceSession;
  try {
    session = spec.bytes ? await ort.InferenceSession.create(spec.bytes, options) : await ort.InferenceSession.create(spec.path, options);
  } catch (e) {
    throw new ShoalError('unavailable', `${spec.path}: onnxruntime could not load the model: ${(e as Error).message}`);
  }
  const specs = (meta: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] =>
    meta.map((m) => ({ name: m.name, datatype: m.isTensor ? (dataTypeFromOrt(m.type) ?? 'FP32') : 'FP32', dims: m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : [] }));
  return {
    inputs: specs(session.inputMetadata), outputs: specs(session.outputMetadata), footprintBytes: 0,
    async run(inputs: Tensor[], names: string[]) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of inputs) {
        const w = toWire(t, 'view');
        feeds[w.name] = new ort.Tensor(w.type, w.data as never, w.dims);
      }
      const results = await session.run(feeds, names);
      return names.map((name) => fromWire({ name, type: results[name]!.type, dims: results[name]!.dims.map(Number), data: results[name]!.data as WireTensor['data'] }));
    },
    unload: () => session.release(),
  };
}

const KB = 1024;
const SIZE = 100 * KB;
let dirs: string[] = [];
let managers: ModelManager[] = [];

afterEach(async () => {
  await Promise.all(managers.map((m) => m.unloadAll()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
  managers = [];
});

async function setup(models: Array<{ name: string; tag: number; config?: string }>, opts: Partial<ModelManagerOptions> & { clock?: Clock; sessions?: 'inline' | 'worker' } = {}) {
  const { sessions = 'inline', ...managerOpts } = opts;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-mm-'));
  dirs.push(dir);
  await writeSizedRepository(dir, models.map((m) => ({ ...m, bytes: SIZE })));
  const backend = new CountingBackend(sessions);
  const loads: Array<{ model: string; cause: LoadCause; fromHostCache: boolean }> = [];
  const failures: string[] = [];
  const evictions: string[] = [];
  const lookups: Array<{ model: string; hit: boolean; joined: boolean }> = [];
  const manager = new ModelManager({
    repository: dir, backend, clock: systemClock, maxQueueSize: 16, cores: 1, controlMode: 'on-demand',
    memoryProbe: () => 0,
    events: {
      loaded: (e) => loads.push({ model: e.model, cause: e.cause, fromHostCache: e.fromHostCache }),
      loadFailed: (e) => failures.push(`${e.model}: ${e.reason}`),
      evicted: (e) => evictions.push(e.model),
      lookedUp: (e) => lookups.push(e),
    },
    ...managerOpts,
  });
  managers.push(manager);
  await manager.loadAll();
  return { dir, backend, manager, loads, failures, evictions, lookups };
}

/** Footprint of one sized model file: what the budget counts per model here. */
const fileSize = async (dir: string, name: string) => (await stat(path.join(dir, name, '1', 'model.onnx'))).size;

async function infer(v: ModelVersion, row: number[]): Promise<number> {
  const [y] = await v.sessions[0]!.run([{ name: 'x', datatype: 'FP32', shape: [1, SIZED_INPUT], data: Float32Array.from(row) }], ['y']);
  return (y!.data as Float32Array)[0]!;
}

const row = Array.from({ length: SIZED_INPUT }, (_, i) => i / 4);

describe('ModelManager under a memory budget (on-demand)', () => {
  it('loads on request, evicts the least recently used to stay in budget, and answers with the right model', async () => {
    const { dir, manager, loads, evictions, backend } = await setup([{ name: 'm1', tag: 1 }, { name: 'm2', tag: 2 }, { name: 'm3', tag: 3 }], {
      memoryBudgetBytes: 2.5 * SIZE,
    });
    expect(manager.index().map((e) => [e.name, e.state, e.reason])).toEqual([['m1', 'UNAVAILABLE', 'not loaded'], ['m2', 'UNAVAILABLE', 'not loaded'], ['m3', 'UNAVAILABLE', 'not loaded']]);
    const one = await fileSize(dir, 'm1');
    for (const [name, tag] of [['m1', 1], ['m2', 2], ['m3', 3], ['m1', 1]] as const) {
      const v = await manager.acquire(name);
      // The generated warm-up (zeros, batch 1) ran before the model was handed out.
      expect(backend.runs.get(v.modelFile)).toBeGreaterThanOrEqual(1);
      expect(await infer(v, row)).toBeCloseTo(sizedAnswer(tag, row), 3);
      manager.release(v);
      expect(manager.memory().residentBytes).toBeLessThanOrEqual(2.5 * SIZE);
      expect(manager.memory().residentBytes).toBe(one * manager.memory().models);
    }
    expect(loads.map((l) => l.model)).toEqual(['m1', 'm2', 'm3', 'm1']);
    expect(evictions).toEqual(['m1', 'm2']);
    const states = Object.fromEntries(manager.index().map((e) => [e.name, e.state]));
    expect(states).toEqual({ m1: 'READY', m2: 'UNAVAILABLE', m3: 'READY' });
    expect(manager.index().find((e) => e.name === 'm2')!.reason).toMatch(/evicted to make room for 'm1'/);
    // Metadata of an evicted model still answers, from the config of its last load.
    expect(manager.configOf('m2').input[0]).toMatchObject({ name: 'x', data_type: 'FP32', dims: [SIZED_INPUT] });
  }, 30_000);

  it('shares one load among concurrent first requests, and reports each of them as a miss', async () => {
    const { manager, loads, lookups } = await setup([{ name: 'm1', tag: 1 }], { memoryBudgetBytes: 10 * SIZE });
    const got = await Promise.all(Array.from({ length: 5 }, () => manager.acquire('m1')));
    expect(loads).toHaveLength(1);
    expect(new Set(got).size).toBe(1);
    // The first started the load, the other four joined it.
    expect(lookups).toEqual([{ model: 'm1', hit: false, joined: false }, ...Array.from({ length: 4 }, () => ({ model: 'm1', hit: false, joined: true }))]);
    for (const v of got) manager.release(v);
    // A request that finds the model loaded is a hit.
    manager.release(await manager.acquire('m1'));
    expect(lookups.at(-1)).toEqual({ model: 'm1', hit: true, joined: false });
    expect(lookups).toHaveLength(6);
  }, 20_000);

  it('fails every waiter of a failed load with its reason, and tries again only after the back-off', async () => {
    const clock = new VirtualClock(0);
    const { dir, manager, failures } = await setup([{ name: 'good', tag: 1 }, { name: 'bad', tag: 2 }], {
      memoryBudgetBytes: 10 * SIZE, clock, backoff: { baseMs: 5000, maxMs: 60_000 },
    });
    await writeFile(path.join(dir, 'bad', '1', 'model.onnx'), 'not an onnx model');
    const waiters = await Promise.allSettled([manager.acquire('bad'), manager.acquire('bad')]);
    for (const w of waiters) {
      expect(w.status).toBe('rejected');
      expect(((w as PromiseRejectedResult).reason as Error).message).toMatch(/could not load/);
    }
    expect(failures).toHaveLength(1);
    // Within the back-off: refused at once, no new attempt.
    expect(() => manager.acquire('bad')).toThrow(/tried again in 5 s/);
    clock.advance(4999);
    expect(() => manager.acquire('bad')).toThrow(ShoalError);
    expect(failures).toHaveLength(1);
    clock.advance(1);
    await expect(manager.acquire('bad')).rejects.toThrow(/could not load/);
    expect(failures).toHaveLength(2);
    // The next back-off is twice as long.
    clock.advance(5000);
    expect(() => manager.acquire('bad')).toThrow(/tried again in 5 s/);
  }, 20_000);

  it('never evicts a model that a request holds, nor a pinned one', async () => {
    const { manager, evictions } = await setup([
      { name: 'a', tag: 1 }, { name: 'b', tag: 2 }, { name: 'c', tag: 3 }, { name: 'pinned', tag: 4, config: 'model_management: { pinned: true }\n' },
    ], { memoryBudgetBytes: 2.5 * SIZE });
    // Pinned models load at start even in on-demand mode.
    expect(manager.index().find((e) => e.name === 'pinned')!.state).toBe('READY');
    const a = await manager.acquire('a');
    // Budget holds two: pinned and a; both held, so b cannot get room.
    await expect(manager.acquire('b')).rejects.toThrow(/not enough memory for model 'b'.*busy or pinned/);
    expect(evictions).toEqual([]);
    manager.release(a);
    // Not counted as a failure of b: no back-off, it loads at once, and a goes, not pinned.
    const b = await manager.acquire('b');
    expect(evictions).toEqual(['a']);
    manager.release(b);
    const c = await manager.acquire('c');
    expect(evictions).toEqual(['a', 'b']);
    manager.release(c);
    expect(manager.index().find((e) => e.name === 'pinned')!.state).toBe('READY');
  }, 30_000);

  it('waits for a model that is only busy for the moment, rather than refuse for want of room', async () => {
    const { manager, evictions, failures } = await setup([{ name: 'a', tag: 1 }, { name: 'b', tag: 2 }], { memoryBudgetBytes: 1.5 * SIZE });
    const a = await manager.acquire('a');
    const b = manager.acquire('b');
    // Long enough for b's load to find a held (it then waits for a to go idle); the answer does
    // not depend on it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    manager.release(a);
    const vb = await b;
    expect(await infer(vb, row)).toBeCloseTo(sizedAnswer(2, row), 3);
    manager.release(vb);
    expect(evictions).toEqual(['a']);
    expect(failures).toEqual([]);
  }, 30_000);

  it('reloads an evicted model from the host cache without touching the disk', async () => {
    const { dir, manager, loads, backend } = await setup([{ name: 'm1', tag: 1 }, { name: 'm2', tag: 2 }], {
      memoryBudgetBytes: 1.5 * SIZE, hostCacheBytes: 4 * SIZE,
    });
    manager.release(await manager.acquire('m1'));
    manager.release(await manager.acquire('m2')); // evicts m1, whose file goes to the host cache
    await manager.settled();
    expect(manager.memory().hostCacheBytes).toBeGreaterThanOrEqual(SIZE);
    await rename(path.join(dir, 'm1', '1', 'model.onnx'), path.join(dir, 'm1', '1', 'moved.onnx'));
    const v = await manager.acquire('m1');
    expect(await infer(v, row)).toBeCloseTo(sizedAnswer(1, row), 3);
    manager.release(v);
    expect(loads.map((l) => [l.model, l.fromHostCache])).toEqual([['m1', false], ['m2', false], ['m1', true]]);
    expect(backend.loadsFrom).toEqual(['path', 'path', 'bytes']);
  }, 30_000);

  it('runs the configured warm-up on every instance before the model takes traffic; a failing one fails the load', async () => {
    const warm = 'instance_group: [{ count: 2 }]\nmodel_warmup:\n  - name: zeros\n    batch_size: 4\n    count: 3\n    inputs: { x: { data_type: TYPE_FP32, dims: [16], zero_data: true } }\n';
    const bad = 'model_warmup:\n  - name: wrong\n    batch_size: 1\n    inputs: { x: { data_type: TYPE_FP32, dims: [3], random_data: true } }\n';
    const { manager, backend } = await setup([{ name: 'w', tag: 1, config: warm }, { name: 'bad', tag: 2, config: bad }], { memoryBudgetBytes: 10 * SIZE });
    const v = await manager.acquire('w');
    expect(backend.runs.get(v.modelFile)).toBe(2 * 3);
    manager.release(v);
    await expect(manager.acquire('bad')).rejects.toThrow(/warm-up 'wrong' failed/);
  }, 30_000);
});

/**
 * CountingBackend whose loads wait, while `held`, until the test lets them through: what runs
 * at once in the load lane is then visible in `log` without timing anything.
 */
class GatedBackend extends CountingBackend {
  held = false;
  readonly log: string[] = [];
  private readonly gates: Array<() => void> = [];

  override async load(spec: LoadSpec): Promise<BackendSession> {
    const model = path.basename(path.dirname(path.dirname(spec.path)));
    this.log.push(`start ${model}`);
    if (this.held) await new Promise<void>((resolve) => this.gates.push(resolve));
    try {
      return await super.load(spec);
    } finally {
      this.log.push(`end ${model}`);
    }
  }

  get waiting(): number {
    return this.gates.length;
  }

  open(): void {
    this.held = false;
    for (const g of this.gates.splice(0)) g();
  }
}

/** A gate for CountingBackend's loads, opened by hand. */
function holdLoads(backend: CountingBackend): () => void {
  let open!: () => void;
  backend.gate = new Promise<void>((resolve) => (open = resolve));
  return () => {
    backend.gate = undefined;
    open();
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long (ms) a promise took to reject, and its message. */
async function rejection(p: Promise<unknown>): Promise<{ ms: number; message: string }> {
  const t = performance.now();
  try {
    await p;
  } catch (e) {
    return { ms: performance.now() - t, message: (e as Error).message };
  }
  throw new Error('expected a rejection');
}

describe('waiting for a load within a deadline', () => {
  it('refuses a request when its wait runs out while its load is still queued, then gives up the load nobody waits for', async () => {
    const { manager, backend, loads, failures } = await setup([{ name: 'a', tag: 1 }, { name: 'b', tag: 2 }]);
    const open = holdLoads(backend);
    const a = manager.acquire('a');
    await sleep(20);
    // a's first load runs alone and is held; b's load queues behind it.
    const b = rejection(manager.acquire('b', undefined, () => 60) as Promise<ModelVersion>);
    const { ms, message } = await b;
    expect(message).toMatch(/model 'b' was not loaded within the 60 ms the request could wait/);
    expect(ms).toBeGreaterThanOrEqual(55);
    expect(ms).toBeLessThan(400);
    open();
    manager.release(await a);
    await sleep(50);
    // Nobody waited for b when the lane got to it: never started, not a failure, no back-off.
    expect(backend.started).toEqual(['a']);
    expect(loads.map((l) => l.model)).toEqual(['a']);
    expect(failures).toEqual([]);
    expect(manager.index().find((e) => e.name === 'b')!.state).toBe('UNAVAILABLE');
    const vb = await manager.acquire('b', undefined, () => 5_000);
    expect(await infer(vb, row)).toBeCloseTo(sizedAnswer(2, row), 3);
    manager.release(vb);
  }, 30_000);

  it('takes the wait from the model config\'s SLO when the request brings no deadline', async () => {
    const { manager, backend } = await setup([{ name: 'a', tag: 1 }, { name: 'b', tag: 2, config: 'slo: { default_deadline_microseconds: 80000 }\n' }]);
    const open = holdLoads(backend);
    const a = manager.acquire('a');
    await sleep(20);
    const { ms, message } = await rejection(manager.acquire('b') as Promise<ModelVersion>);
    expect(message).toMatch(/within the 80 ms/);
    expect(ms).toBeLessThan(400);
    open();
    manager.release(await a);
  }, 30_000);

  it('loads for a waiter that joins before the lane gets to the load, and answers every waiter still waiting', async () => {
    const { manager, backend, loads } = await setup([{ name: 'a', tag: 1 }, { name: 'b', tag: 2 }]);
    const open = holdLoads(backend);
    const a = manager.acquire('a');
    await sleep(20);
    const early = rejection(manager.acquire('b', undefined, () => 40) as Promise<ModelVersion>);
    const late = manager.acquire('b', undefined, () => 10_000);
    expect((await early).message).toMatch(/not loaded within the 40 ms/);
    open();
    manager.release(await a);
    const vb = await late;
    expect(await infer(vb, row)).toBeCloseTo(sizedAnswer(2, row), 3);
    manager.release(vb);
    expect(loads.map((l) => l.model)).toEqual(['a', 'b']);
  }, 30_000);

  it('waits for room only as long as its waiters can use the load, not the full second', async () => {
    const { manager, backend, evictions, failures, loads } = await setup([{ name: 'a', tag: 1 }, { name: 'b', tag: 2 }], { memoryBudgetBytes: 1.5 * SIZE });
    const a = await manager.acquire('a');
    try {
      // a is held, so b's load finds no room and waits out of the lane for a to go idle.
      const { ms, message } = await rejection(manager.acquire('b', undefined, () => 100) as Promise<ModelVersion>);
      // Refused when its wait ran out, or sooner, once too little of it was left for a load.
      expect(message).toMatch(/model 'b' (was not loaded within the 100 ms|could not be loaded: given up before it started)/);
      expect(ms).toBeLessThan(500);
      await sleep(100);
      // Given up by then (not failed for want of memory a second later), a untouched.
      expect(backend.started).toEqual(['a']);
      expect(failures).toEqual([]);
    } finally {
      manager.release(a);
    }
    await sleep(50);
    expect(evictions).toEqual([]);
    expect(manager.index().find((e) => e.name === 'a')!.state).toBe('READY');
    expect(loads.map((l) => l.model)).toEqual(['a']);
  }, 30_000);

  it('with the lane congested, cost-aware declines a load that would evict models asked for more; LRU loads it', async () => {
    for (const policy of ['cost-aware', 'lru'] as const) {
      const clock = new VirtualClock(0);
      const { manager, backend } = await setup([{ name: 'a', tag: 1 }, { name: 'b', tag: 2 }, { name: 'c', tag: 3 }, { name: 'd', tag: 4 }], {
        memoryBudgetBytes: 2.5 * SIZE, evictionPolicy: policy, clock,
      });
      manager.release(await manager.acquire('b')); // measured, so its room is known
      for (let i = 0; i < 10; i++) {
        clock.advance(10);
        manager.release(await manager.acquire('a'));
      }
      clock.advance(10);
      manager.release(await manager.acquire('c')); // evicts b (the least asked for, and the least recent)
      expect(manager.index().filter((e) => e.state === 'READY').map((e) => e.name).sort()).toEqual(['a', 'c']);
      // Loads so far took no virtual time: the lane is not congested, and b would be loaded.
      // d's load takes 5 s of the clock: the lane has been busy most of the last seconds.
      const open = holdLoads(backend);
      const d = manager.acquire('d', undefined, () => 10_000);
      await sleep(20);
      clock.advance(5_000);
      open();
      manager.release(await d);
      for (let i = 0; i < 10; i++) {
        clock.advance(10);
        manager.release(await manager.acquire('d'));
      }
      // a and d, each asked for ten times, hold the budget; b, asked for once before, would evict one.
      if (policy === 'cost-aware') {
        expect(() => manager.acquire('b', undefined, () => 10_000)).toThrow(/model 'b' is not loaded, and while the load lane is congested it is not loaded in place of models asked for more/);
        expect(manager.index().filter((e) => e.state === 'READY').map((e) => e.name).sort()).toEqual(['a', 'd']);
        // Once the lane has been quiet for a while, it is loaded.
        clock.advance(20_000);
        manager.release(await manager.acquire('b', undefined, () => 10_000));
      } else {
        manager.release(await manager.acquire('b', undefined, () => 10_000));
      }
      expect(manager.index().find((e) => e.name === 'b')!.state).toBe('READY');
    }
  }, 30_000);
});

describe('loads side by side', () => {
  it('measures a model\'s first load alone, and reloads the same files two at a time, each in room reserved for it', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-mm-'));
    dirs.push(dir);
    await writeSizedRepository(dir, names.map((name, i) => ({ name, tag: i + 1, bytes: SIZE })));
    const backend = new GatedBackend('inline');
    const budget = 2.5 * SIZE;
    const manager = new ModelManager({
      repository: dir, backend, clock: systemClock, maxQueueSize: 16, cores: 1, controlMode: 'on-demand', memoryProbe: () => 0,
      memoryBudgetBytes: budget, maxConcurrentLoads: 2,
    });
    managers.push(manager);
    await manager.loadAll();
    const one = await fileSize(dir, 'a');
    // Each measured in turn; the budget holds two, so a goes, then b.
    for (const name of ['a', 'b', 'c', 'd']) manager.release(await manager.acquire(name));
    expect(manager.index().filter((e) => e.state === 'READY').map((e) => e.name)).toEqual(['c', 'd']);

    backend.held = true;
    backend.log.length = 0;
    const a = manager.acquire('a');
    const b = manager.acquire('b');
    let e: ReturnType<typeof manager.acquire> | undefined;
    let given = false;
    try {
      await vi.waitFor(() => expect(backend.waiting).toBe(2), { timeout: 10_000, interval: 5 });
      // Both reloads are under way at once, and room for both was made before either began.
      expect(backend.log).toEqual(['start a', 'start b']);
      const m = manager.memory();
      expect(m.residentBytes + m.releasingBytes).toBeLessThanOrEqual(budget - 2 * one);
      // A first load waits for the lane to itself, even with a slot free.
      e = manager.acquire('e');
      await new Promise((resolve) => setImmediate(resolve));
      expect(backend.waiting).toBe(2);
      backend.open();
      // Given back at once: e, next in the lane, must evict one of them.
      const [va, vb] = await Promise.all([a, b]);
      given = true;
      manager.release(va);
      manager.release(vb);
      manager.release(await e);
      expect([va.name, vb.name]).toEqual(['a', 'b']);
      expect(backend.log.indexOf('start e')).toBeGreaterThan(Math.max(backend.log.indexOf('end a'), backend.log.indexOf('end b')));
      expect(manager.memory().residentBytes).toBeLessThanOrEqual(budget);
    } finally {
      // On a failure, let the loads end and give the leases back, or unloadAll would wait for ever.
      backend.open();
      if (!given) for (const p of [a, b, e]) void Promise.resolve(p).then((v) => v && manager.release(v), () => undefined);
    }
  }, 30_000);

  it('measures a model again once its file changed, and counts what it now takes', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-mm-'));
    dirs.push(dir);
    await writeSizedRepository(dir, [{ name: 'a', tag: 1, bytes: SIZE }, { name: 'b', tag: 2, bytes: SIZE }]);
    const backend = new GatedBackend('inline');
    const footprints: Array<[string, number]> = [];
    const manager = new ModelManager({
      repository: dir, backend, clock: systemClock, maxQueueSize: 16, cores: 1, controlMode: 'on-demand', memoryProbe: () => 0,
      memoryBudgetBytes: 1.5 * SIZE, maxConcurrentLoads: 2, events: { loaded: (l) => footprints.push([l.model, l.footprintBytes]) },
    });
    managers.push(manager);
    await manager.loadAll();
    manager.release(await manager.acquire('a'));
    manager.release(await manager.acquire('b')); // evicts a
    // The operator puts a larger file in place without reloading through the API.
    await writeSizedRepository(dir, [{ name: 'a', tag: 7, bytes: 1.25 * SIZE }]);
    const v = await manager.acquire('a');
    try {
      expect(await infer(v, row)).toBeCloseTo(sizedAnswer(7, row), 2);
    } finally {
      manager.release(v);
    }
    expect(footprints.map(([name]) => name)).toEqual(['a', 'b', 'a']);
    expect(footprints[2]![1]).toBe(await fileSize(dir, 'a'));
    expect(footprints[2]![1]).toBeGreaterThan(footprints[0]![1]);
  }, 30_000);
});

describe('footprints', () => {
  it('learns the per-session overhead from what loads measured, so a first load\'s one-off cost fades from later floors', async () => {
    const MiB = 1024 * 1024;
    // Resident memory as the probe reads it: the first load grows it by 40 MiB (the runtime's
    // one-off cost lands there), each later one by 1 MiB.
    let rss = 0;
    const growth = [40 * MiB, MiB, MiB, MiB];
    class Growing extends CountingBackend {
      override async load(spec: LoadSpec): Promise<BackendSession> {
        const s = await super.load(spec);
        rss += growth.shift() ?? 0;
        return s;
      }
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-mm-'));
    dirs.push(dir);
    const names = ['m1', 'm2', 'm3', 'm4'];
    await writeSizedRepository(dir, names.map((name, i) => ({ name, tag: i + 1, bytes: SIZE })));
    const footprints: number[] = [];
    const manager = new ModelManager({
      repository: dir, backend: new Growing('inline'), clock: systemClock, maxQueueSize: 16, cores: 1, controlMode: 'on-demand',
      memoryProbe: () => rss, memoryBudgetBytes: 1024 * MiB, events: { loaded: (l) => footprints.push(l.footprintBytes) },
    });
    managers.push(manager);
    await manager.loadAll();
    for (const name of names) manager.release(await manager.acquire(name));
    expect(footprints[0]).toBeGreaterThanOrEqual(40 * MiB);
    // Each later model is floored by the mean overhead measured so far: m2 by m1's alone, and
    // from there it falls as loads measure less (it stayed at m1's when floored figures fed it).
    expect(footprints[1]).toBe(footprints[0]);
    expect(footprints[2]).toBeLessThan(footprints[1]!);
    expect(footprints[3]).toBeLessThan(footprints[2]!);
  }, 30_000);
});

describe('explicit control alongside automatic management', () => {
  it('an unload waits for requests that hold the model and refuses new ones', async () => {
    const { manager } = await setup([{ name: 'm1', tag: 1 }], { memoryBudgetBytes: 10 * SIZE });
    const v = await manager.acquire('m1');
    let unloaded = false;
    const unloading = manager.unload('m1').then(() => (unloaded = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(unloaded).toBe(false);
    expect(() => manager.acquire('m1')).toThrow(/unloading/);
    // The held version still answers.
    expect(await infer(v, row)).toBeCloseTo(sizedAnswer(1, row), 3);
    manager.release(v);
    await unloading;
    // Explicitly unloaded: requests do not bring it back; the API does.
    expect(() => manager.acquire('m1')).toThrow(/unloaded/);
    await manager.load('m1');
    manager.release(await manager.acquire('m1'));
  }, 20_000);

  it('an explicit load racing an on-demand load that must evict ends with one of them resident, within budget', async () => {
    const { manager } = await setup([{ name: 'm1', tag: 1 }, { name: 'm2', tag: 2 }], { memoryBudgetBytes: 1.5 * SIZE });
    const results = await Promise.allSettled([manager.load('m1'), Promise.resolve(manager.acquire('m2')).then((v) => manager.release(v))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const ready = manager.index().filter((e) => e.state === 'READY').map((e) => e.name);
    expect(ready).toHaveLength(1);
    expect(manager.memory().models).toBe(1);
    for (const e of manager.index()) expect(['READY', 'UNAVAILABLE']).toContain(e.state);
  }, 20_000);
});

describe('OnnxBackend, as the manager uses it', () => {
  it('measures at least the model file, loads from bytes as from a path (the host cache\'s reload), and fails a bad file with its reason', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-fp-'));
    dirs.push(dir);
    await writeSizedRepository(dir, [{ name: 'small', tag: 1, bytes: 4 * KB }, { name: 'big', tag: 2, bytes: 1024 * KB }]);
    const backend = new OnnxBackend();
    const spec = (name: string) => ({ path: path.join(dir, name, '1', 'model.onnx'), intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' }) as const;
    const big = await backend.load(spec('big'));
    const size = await fileSize(dir, 'big');
    expect(big.footprintBytes).toBeGreaterThanOrEqual(size);
    await big.unload();
    const bytes = new Uint8Array(await readFile(spec('small').path));
    const small = await backend.load({ ...spec('small'), path: path.join(dir, 'small', '1', 'gone.onnx'), bytes });
    expect(small.footprintBytes).toBeGreaterThanOrEqual(bytes.byteLength);
    const [y] = await small.run([{ name: 'x', datatype: 'FP32', shape: [1, SIZED_INPUT], data: Float32Array.from(row) }], ['y']);
    expect((y!.data as Float32Array)[0]).toBeCloseTo(sizedAnswer(1, row), 3);
    await small.unload();
    await writeFile(spec('small').path, 'not an onnx model');
    await expect(backend.load(spec('small'))).rejects.toThrow(/onnxruntime could not load the model/);
  }, 20_000);
});
