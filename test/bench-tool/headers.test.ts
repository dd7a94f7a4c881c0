/**
 * `--header 'Name: value'` (an API key for a server with tenants) reaches every request bench
 * sends, metadata included, and never the report; `--deadline-ms` puts parameters.deadline_ms
 * in every request and scores goodput against it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { benchCommand, benchOptions, parseHeaderFlags, redactedArgs, workloadFileOptions, type RawBenchFlags } from '../../src/bench/command.js';
import { runBench } from '../../src/bench/runner.js';

const KEY = 'secret-key-of-the-test-tenant-0a1b';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

/** A KServe v2 server that wants `Authorization: Bearer KEY` on every route but health, as shoal with a tenants file does. */
async function keyedServer(): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      seen.push({ method: req.method ?? '', url, headers: req.headers, body: Buffer.concat(chunks).toString('latin1') });
      const send = (status: number, body: unknown): void => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      };
      if (url.startsWith('/v2/health')) return send(200, {});
      if (req.headers.authorization !== `Bearer ${KEY}`) return send(401, { error: 'an API key is required' });
      const m = /^\/v2\/models\/([^/]+)(\/config|\/infer)?$/.exec(url);
      if (!m) return send(404, { error: 'no route' });
      if (!m[2]) return send(200, { name: m[1], versions: ['1'], platform: 'fake', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }], outputs: [] });
      if (m[2] === '/config') return send(404, { error: 'no config' });
      return send(200, { model_name: m[1], outputs: [] });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** The options bench builds from `args`, through its own flag parsing, without running. */
async function optionsFrom(args: string[]) {
  const cmd = benchCommand();
  let options: Awaited<ReturnType<typeof benchOptions>> | undefined;
  cmd.exitOverride().configureOutput({ writeErr: () => {} }).action(async (flags: RawBenchFlags, c: Command) => {
    options = flags.workload ? await workloadFileOptions(flags, c) : await benchOptions(flags);
  });
  await cmd.parseAsync(args, { from: 'user' });
  return options!;
}

describe('--header', () => {
  it('parses repeatable Name: value flags, names in lower case, values trimmed', () => {
    expect(parseHeaderFlags(['Authorization: Bearer abc', 'X-Route:b:c ', 'x-empty:'])).toEqual({ authorization: 'Bearer abc', 'x-route': 'b:c', 'x-empty': '' });
    expect(parseHeaderFlags([])).toEqual({});
  });

  it('refuses malformed and repeated headers without echoing the value', () => {
    expect(() => parseHeaderFlags([`Bearer-${KEY}`])).toThrow(/without a colon/);
    expect(() => parseHeaderFlags([`Bad Name: ${KEY}`])).toThrow(/'Name: value'/);
    expect(() => parseHeaderFlags([`X-A: ${KEY}\r\nX-B: 1`])).toThrow(/line breaks/);
    expect(() => parseHeaderFlags([`Authorization: Bearer ${KEY}`, 'authorization: Bearer other'])).toThrow(/given twice/);
    for (const bad of [[`Bearer-${KEY}`], [`Bad Name: ${KEY}`], [`X-A: ${KEY}\nX`]]) {
      try {
        parseHeaderFlags(bad);
      } catch (e) {
        expect((e as Error).message).not.toContain(KEY);
      }
    }
  });

  it('leaves header values out of the command line the report records', () => {
    expect(redactedArgs(['--model', 'mlp', '--header', `Authorization: Bearer ${KEY}`, `--header=X-Other: ${KEY}`, '--rate', '5']))
      .toBe("--model mlp --header 'Authorization: …' --header='X-Other: …' --rate 5");
  });

  it('sends the headers with metadata, preflight and every inference request; the report names them without values', async () => {
    const server = await keyedServer();
    closers.push(server.close);
    const o = await optionsFrom(['--url', server.url, '--model', 'toy', '--rate', '40', '--duration', '0.5', '--warmup', '0', '--header', `Authorization: Bearer ${KEY}`, '--header', 'X-Trace: bench']);
    expect(o.headers).toEqual({ authorization: `Bearer ${KEY}`, 'x-trace': 'bench' });
    const report = await runBench(o, 'shoal bench (test)');
    const s = report.points[0]!.stats;
    expect(s.errorCount, JSON.stringify(s.errors)).toBe(0);
    expect(s.ok).toBeGreaterThan(5);
    const keyed = server.seen.filter((r) => !r.url.startsWith('/v2/health'));
    expect(keyed.some((r) => r.method === 'GET' && r.url === '/v2/models/toy')).toBe(true);
    expect(keyed.filter((r) => r.url.endsWith('/infer')).length).toBeGreaterThanOrEqual(s.ok);
    for (const r of server.seen) {
      expect(r.headers.authorization, r.url).toBe(`Bearer ${KEY}`);
      expect(r.headers['x-trace'], r.url).toBe('bench');
    }
    // The encoding's own content type is kept.
    for (const r of keyed.filter((x) => x.url.endsWith('/infer'))) expect(r.headers['content-type']).toBe('application/json');
    expect(report.settings.headers).toEqual(['authorization', 'x-trace']);
    expect(JSON.stringify(report)).not.toContain(KEY);
  });

  it('without the header the key-guarded server refuses the first request, and bench says so', async () => {
    const server = await keyedServer();
    closers.push(server.close);
    const o = await optionsFrom(['--url', server.url, '--model', 'toy', '--rate', '10', '--duration', '0.2', '--warmup', '0']);
    await expect(runBench(o)).rejects.toThrow(/HTTP 401/);
  });
});

describe('--deadline-ms', () => {
  it('sets deadlineMs, which puts parameters.deadline_ms in every request and scores goodput against it', async () => {
    const server = await keyedServer();
    closers.push(server.close);
    const o = await optionsFrom(['--url', server.url, '--model', 'toy', '--concurrency', '2', '--duration', '0.4', '--warmup', '0', '--binary', '--deadline-ms', '250', '--header', `authorization: Bearer ${KEY}`]);
    expect(o.deadlineMs).toBe(250);
    const report = await runBench(o);
    expect(report.settings.deadlineMs).toBe(250);
    const infers = server.seen.filter((r) => r.url.endsWith('/infer'));
    expect(infers.length).toBeGreaterThan(5);
    for (const r of infers) expect(r.body).toContain('"deadline_ms":250');
    // A fast local server answers everything within 250 ms: goodput is scored, and all of it is good.
    expect(report.points[0]!.stats.goodFraction).toBe(1);
  });

  it('rides on every arrival of a workload file\'s rate curve, which bench plays as a trace', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-deadline-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'curve.yaml');
    await writeFile(file, 'models: [toy]\nrate: 20\ndiurnal: { periodS: 4, amplitude: 0.5 }\nduration: 2\nwarmup: 0\n');
    const o = await optionsFrom(['--workload', file, '--deadline-ms', '75']);
    expect(o.mode).toBe('trace');
    expect(o.deadlineMs).toBe(75);
    expect(o.trace!.length).toBeGreaterThan(10);
    expect(o.trace!.every((a) => a.deadlineMs === 75)).toBe(true);
    await writeFile(file, 'models: [toy]\nrate: 20\nsloMs: 40\n');
    await expect(optionsFrom(['--workload', file, '--deadline-ms', '75'])).rejects.toThrow(/drop the SLO/);
  });

  it('is refused with a trace (its rows carry their own deadlines) and with an SLO', async () => {
    await expect(optionsFrom(['--model', 'toy', '--rate', '5', '--deadline-ms', '50', '--slo-ms', '40'])).rejects.toThrow(/drop the SLO/);
    await expect(optionsFrom(['--model', 'toy', '--rate', '5', '--deadline-ms', '0'])).rejects.toThrow(/--deadline-ms must be a number/);
    const flags: RawBenchFlags = { url: 'http://x', model: [], trace: 'ignored.csv', duration: 1, warmup: 0, timeoutMs: 1000, batch: 1, shape: [], intRange: '0,100', seed: 1, deadlineMs: 50 };
    await expect(benchOptions(flags)).rejects.toThrow(/deadline_ms column/);
  });
});
