/**
 * The protocol ceiling: a node:http server that does the least a KServe v2 JSON server must
 * do for an identity request (read the body, JSON.parse it, JSON.stringify a reply of the
 * same shape) and nothing else. shoal's round trip is reported as a ratio to this one.
 *
 * Run alone: node dist/bench/baselines/bare-http.js --port N
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

interface JsonTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

const INFER_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  if (req.method === 'GET' && (url === '/v2/health/ready' || url === '/v2/health/live')) {
    res.writeHead(200, { 'content-length': '0' }).end();
    return;
  }
  const match = req.method === 'POST' ? INFER_PATH.exec(url) : null;
  if (!match) {
    reply(res, 404, { error: `no route for ${req.method} ${url}` });
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let inputs: JsonTensor[];
    try {
      inputs = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: JsonTensor[] }).inputs;
    } catch (err) {
      reply(res, 400, { error: `bad JSON: ${(err as Error).message}` });
      return;
    }
    // Echo each input as the matching OUTPUT_* tensor, the way the identity model names them.
    const outputs = inputs.map((t) => ({
      name: t.name.replace(/^INPUT/, 'OUTPUT'),
      datatype: t.datatype,
      shape: t.shape,
      data: t.data,
    }));
    reply(res, 200, { model_name: match[1], model_version: match[2] ?? '1', outputs });
  });
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export interface ListeningServer { url: string; close: () => Promise<void> }

export function startBareServer(port: number, host = '127.0.0.1'): Promise<ListeningServer> {
  return listenOn(http.createServer(handle), port, host);
}

/** Listens on loopback with long keep-alive; `close` ends the server and every connection. */
export async function listenOn(server: http.Server, port: number, host: string): Promise<ListeningServer> {
  // The bench pauses on one server while it measures the others; a 5 s default idle timeout
  // would close the kept-alive connection and charge a reconnect to the next sample.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function parsePort(argv: string[]): number {
  const i = argv.indexOf('--port');
  const value = i >= 0 ? argv[i + 1] : undefined;
  const port = value === undefined ? 0 : Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${value}`);
  return port;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url, close } = await startBareServer(parsePort(process.argv.slice(2)));
  console.log(`bare-http listening on ${url}`);
  const stop = (): void => void close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
