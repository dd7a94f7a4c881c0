/**
 * A KServe v2 server whose latency the test decides: it answers each inference when
 * `replyAt(arrival)` says (times on performance.now()), so a test knows the truth a
 * benchmark should report. It runs in the test's own process, sharing its clock.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeServerOptions {
  /** Absolute performance.now() time to answer a request that arrived at `arrivalMs`. */
  replyAt?: (arrivalMs: number) => number;
  /** Status for the n-th inference (0-based); 200 by default. */
  status?: (n: number) => number;
  /** Serve /config with this max_batch_size; without it /config is 404, as on a plain KServe server. */
  maxBatchSize?: number;
}

export interface FakeServer {
  url: string;
  /** performance.now() at which each inference request's body was fully read. */
  arrivals: number[];
  /** Each inference request's body, in arrival order. */
  bodies: Buffer[];
  close(): Promise<void>;
}

const METADATA = (name: string) => ({ name, versions: ['1'], platform: 'fake', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }] });

export async function startFakeServer(o: FakeServerOptions = {}): Promise<FakeServer> {
  const arrivals: number[] = [];
  const bodies: Buffer[] = [];
  let n = 0;
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (url.startsWith('/v2/health')) return json(res, 200, {});
      const m = /^\/v2\/models\/([^/]+)(\/config|\/infer)?$/.exec(url);
      if (!m) return json(res, 404, { error: 'no route' });
      if (!m[2]) return json(res, 200, METADATA(m[1]!));
      if (m[2] === '/config') return o.maxBatchSize === undefined ? json(res, 404, { error: 'no config' }) : json(res, 200, { max_batch_size: o.maxBatchSize });
      const arrival = performance.now();
      arrivals.push(arrival);
      bodies.push(Buffer.concat(chunks));
      const status = o.status?.(n++) ?? 200;
      const wait = Math.max(0, (o.replyAt?.(arrival) ?? arrival) - performance.now());
      setTimeout(() => json(res, status, status === 200 ? { model_name: m[1], outputs: [] } : { error: 'overloaded' }), wait);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    bodies,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
