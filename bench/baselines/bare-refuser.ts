/**
 * The refusal floor of node:http itself: a server that does the least a KServe v2 server must do
 * to refuse an inference request on its deadline (read the body, parse its JSON header, where
 * `parameters.deadline_ms` is) and answers every one 429 with a one-line error, as shoal does
 * at admission. Issue 3's overload bench sets shoal's CPU per refusal against this one's, so
 * the report can say how much of that floor is shoal's own work and how much is HTTP's and the
 * kernel's. Metadata and health (GET) are answered from a shoal server it mirrors, so that
 * `shoal bench` shapes its requests exactly as it does for shoal.
 *
 * Run alone: node dist/bench/baselines/bare-refuser.js --port N --mirror http://127.0.0.1:M
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { type ListeningServer, listenOn } from './bare-http.js';

const REFUSAL = JSON.stringify({ error: 'refused: its deadline cannot be met (bare node:http refuser)' });

interface Mirrored { status: number; type: string; body: Buffer }

export function startBareRefuser(mirror: string, port: number, host = '127.0.0.1'): Promise<ListeningServer> {
  const gets = new Map<string, Promise<Mirrored>>();
  const fetchOnce = (url: string): Promise<Mirrored> => {
    let answer = gets.get(url);
    if (!answer) {
      answer = fetch(mirror + url).then(async (r) => ({ status: r.status, type: r.headers.get('content-type') ?? 'application/json', body: Buffer.from(await r.arrayBuffer()) }));
      gets.set(url, answer);
    }
    return answer;
  };
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      fetchOnce(req.url ?? '/').then(
        (m) => res.writeHead(m.status, { 'content-type': m.type, 'content-length': m.body.length }).end(m.body),
        (err: Error) => res.writeHead(502, { 'content-type': 'text/plain' }).end(`mirror: ${err.message}`),
      );
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const declared = Number(req.headers['inference-header-content-length'] ?? body.length);
      try {
        JSON.parse(body.subarray(0, Number.isInteger(declared) ? declared : body.length).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad JSON"}');
        return;
      }
      res.writeHead(429, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(REFUSAL), 'retry-after': '1' }).end(REFUSAL);
    });
  });
  return listenOn(server, port, host);
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const port = Number(arg(argv, '--port') ?? 0);
  const mirror = arg(argv, '--mirror');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${arg(argv, '--port')}`);
  if (!mirror) throw new Error('--mirror URL (a shoal server) is required');
  const { url, close } = await startBareRefuser(mirror, port);
  console.log(`bare-refuser listening on ${url}, mirroring ${mirror}`);
  const stop = (): void => void close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
