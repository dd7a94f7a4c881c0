/**
 * A flood of failing requests is logged as a sample plus a count, so that logging does not
 * become the overload; every failure is still accounted for in the log.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { expect, inject, it } from 'vitest';
import { startServer } from '../../src/server/server.js';
import { post } from '../support/client.js';

it('logs the first refusals of a kind one by one and the rest as a count', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-refusal-log-'));
  await cp(path.join(inject('exampleRepository'), 'add_sub'), path.join(dir, 'add_sub'), { recursive: true });
  let text = '';
  const logs = new PassThrough();
  logs.on('data', (d: Buffer) => (text += d.toString()));
  const server = await startServer({ modelRepository: dir, httpPort: 0, logLevel: 'info', logDestination: logs });
  const FLOOD = 300;
  try {
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] });
    const answers = await Promise.all(Array.from({ length: FLOOD }, () => post(`${server.url}/v2/models/nope/infer`, body)));
    expect(answers.map((a) => a.status)).toEqual(Array(FLOOD).fill(404));
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { model?: string; msg: string; suppressed?: number; status?: number; request_id?: string });
  const single = lines.filter((l) => l.model === 'nope' && l.msg === 'inference refused');
  const counted = lines.filter((l) => l.model === 'nope' && l.suppressed !== undefined);
  expect(single.length).toBeGreaterThan(0);
  expect(single.length).toBeLessThan(FLOOD / 10);
  expect(single.every((l) => l.status === 404 && typeof l.request_id === 'string')).toBe(true);
  expect(counted.length).toBeGreaterThan(0);
  expect(counted.every((l) => l.status === 404 && /more like this/.test(l.msg))).toBe(true);
  // Nothing vanishes: the lines written and the counts add up to every refusal.
  expect(single.length + counted.reduce((n, l) => n + l.suppressed!, 0)).toBe(FLOOD);
});
