/**
 * A seeded burst of malformed requests: every one is answered with a 4xx (or a 200 when a
 * mutation happens to stay valid), never a 5xx or a hang; afterwards the server still answers
 * a valid request correctly and its heap has not grown.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mulberry32 } from '../../src/onnx/builder.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { inferJson, post } from '../support/client.js';

v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;

const VALID = {
  id: 'fuzz',
  inputs: [
    { name: 'INPUT0', datatype: 'FP32', shape: [2, 16], data: Array.from({ length: 32 }, (_, i) => i) },
    { name: 'INPUT1', datatype: 'FP32', shape: [2, 16], data: Array.from({ length: 32 }, (_, i) => -i) },
  ],
  outputs: [{ name: 'OUTPUT0' }],
};
const JUNK = [null, true, -1, Infinity, 2 ** 60, 'FP32', '..', [], {}, [[1], [1, 2]], '\u0000', 'x'.repeat(300)];

type Mutation = (r: () => number) => { body: string | Buffer; headers?: Record<string, string> };

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** Replaces one randomly chosen value anywhere in the request with junk. */
function replaceSomewhere(r: () => number, v: unknown): unknown {
  if (Array.isArray(v) && v.length > 0 && r() < 0.8) {
    const i = Math.floor(r() * v.length);
    return v.map((x, k) => (k === i ? replaceSomewhere(r, x) : x));
  }
  if (v && typeof v === 'object' && !Array.isArray(v) && r() < 0.85) {
    const keys = Object.keys(v);
    const k = pick(r, keys);
    return { ...v, [k]: replaceSomewhere(r, (v as Record<string, unknown>)[k]) };
  }
  return pick(r, JUNK);
}

const MUTATIONS: Mutation[] = [
  (r) => ({ body: JSON.stringify(replaceSomewhere(r, VALID)) }),
  (r) => ({ body: JSON.stringify(VALID).slice(0, Math.floor(r() * 200)) }),
  (r) => {
    const b = Buffer.from(JSON.stringify(VALID));
    for (let i = 0; i < 3; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    return { body: b };
  },
  (r) => {
    const header = Buffer.from(JSON.stringify({ inputs: VALID.inputs.map(({ data: _d, ...t }) => ({ ...t, parameters: { binary_data_size: Math.floor(r() * 300) } })) }));
    const len = r() < 0.5 ? header.length : Math.floor(r() * (header.length + 400)) - 50;
    return { body: Buffer.concat([header, Buffer.alloc(Math.floor(r() * 300))]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(len) } };
  },
  (r) => ({ body: JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [Math.floor(r() * 1e9), Math.floor(r() * 1e9)], data: [] }] }) }),
];

describe('fuzzed requests', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ modelRepository: inject('exampleRepository'), httpPort: 0, logLevel: 'silent' });
  });
  afterAll(() => server.close());

  async function burst(seed: number, count: number): Promise<Map<number, number>> {
    const r = mulberry32(seed);
    const statuses = new Map<number, number>();
    for (let i = 0; i < count; i += 8) {
      await Promise.all(Array.from({ length: 8 }, async () => {
        const m = pick(r, MUTATIONS)(r);
        const model = r() < 0.9 ? 'add_sub' : pick(r, ['nope', '..', 'a%2Fb', 'add_sub%00']);
        const res = await post(`${server.url}/v2/models/${model}/infer`, m.body, m.headers);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 200) {
          expect(res.status, res.body.toString()).toBeGreaterThanOrEqual(400);
          expect(res.status, res.body.toString()).toBeLessThan(500);
          expect(JSON.parse(res.body.toString()).error).toBeTypeOf('string');
        }
      }));
    }
    return statuses;
  }

  it('answers each with a 4xx, then serves a valid request, with a flat heap', async () => {
    await burst(1, 200); // warm-up: JIT, pools and caches settle
    gc();
    const before = process.memoryUsage().heapUsed;
    let rejected = 0;
    for (const seed of [2, 3, 4]) {
      const statuses = await burst(seed, 200);
      rejected += [...statuses].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
    }
    gc();
    const growth = process.memoryUsage().heapUsed - before;
    expect(rejected).toBeGreaterThan(400);
    // 600 requests that each leaked even a small buffer would show far above this.
    expect(growth).toBeLessThan(8 * 1024 * 1024);

    const [sum] = await inferJson(server.url, 'add_sub', [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(1.5) },
      { name: 'INPUT1', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(2) },
    ]);
    expect([...(sum!.data as Float32Array)]).toEqual(Array(16).fill(3.5));
  });
});
