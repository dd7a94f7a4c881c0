/**
 * What a Node developer writes to serve a model without shoal: one node:http server, one
 * onnxruntime session per model, `session.run` on the event loop for every request, JSON only,
 * no batching, no queue limit. It speaks just enough KServe v2 (health, metadata, infer) for
 * `shoal bench` and Triton's clients to drive it, so shoal can be measured against it.
 *
 *   npx tsx bench/baselines/naive-server.ts --model-repository models [--port 8001] [--host 127.0.0.1]
 */
import { readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';

const TO_KSERVE: Record<string, string> = {
  float32: 'FP32', float64: 'FP64', int8: 'INT8', int16: 'INT16', int32: 'INT32', int64: 'INT64',
  uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64', bool: 'BOOL', string: 'BYTES',
};
const TO_ORT = Object.fromEntries(Object.entries(TO_KSERVE).map(([o, k]) => [k, o])) as Record<string, ort.Tensor.Type>;

interface JsonTensor { name: string; datatype: string; shape: number[]; data: unknown[] }

/** The highest numbered version folder of each model that has a model.onnx. */
function findModels(repo: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const name of readdirSync(repo)) {
    const versions = (() => {
      try {
        return readdirSync(path.join(repo, name)).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
      } catch {
        return [];
      }
    })();
    for (const v of versions) {
      const file = path.join(repo, name, v, 'model.onnx');
      if (readdirSync(path.join(repo, name, v)).includes('model.onnx')) {
        found.set(name, file);
        break;
      }
    }
  }
  return found;
}

function metadata(name: string, s: ort.InferenceSession): unknown {
  const spec = (m: ort.InferenceSession.ValueMetadata) => (m.isTensor
    ? { name: m.name, datatype: TO_KSERVE[m.type] ?? m.type, shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)) }
    : { name: m.name, datatype: 'UNKNOWN', shape: [] });
  return { name, versions: ['1'], platform: 'onnxruntime_onnx', inputs: s.inputMetadata.map(spec), outputs: s.outputMetadata.map(spec) };
}

function toOrt(t: JsonTensor): ort.Tensor {
  const type = TO_ORT[t.datatype];
  if (!type) throw new Error(`input '${t.name}': datatype ${t.datatype} is not supported here`);
  const flat = (t.data as unknown[]).flat(Infinity);
  if (type === 'int64') return new ort.Tensor(type, BigInt64Array.from(flat as number[], (v) => BigInt(v)), t.shape);
  if (type === 'uint64') return new ort.Tensor(type, BigUint64Array.from(flat as number[], (v) => BigInt(v)), t.shape);
  if (type === 'string') return new ort.Tensor(type, flat as string[], t.shape);
  if (type === 'bool') return new ort.Tensor(type, Uint8Array.from(flat as boolean[], (v) => (v ? 1 : 0)), t.shape);
  return new ort.Tensor(type, flat as never, t.shape);
}

function fromOrt(name: string, t: ort.Tensor): JsonTensor {
  const data = Array.from(t.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : t.type === 'bool' ? v !== 0 : v));
  return { name, datatype: TO_KSERVE[t.type] ?? t.type, shape: [...t.dims], data };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

export async function startNaiveServer(repo: string, port: number, host = '127.0.0.1'): Promise<{ url: string; models: string[]; close: () => Promise<void> }> {
  const sessions = new Map<string, ort.InferenceSession>();
  for (const [name, file] of findModels(repo)) {
    try {
      sessions.set(name, await ort.InferenceSession.create(file));
    } catch (err) {
      console.error(`skipping ${name}: ${(err as Error).message}`);
    }
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (url === '/v2/health/live' || url === '/v2/health/ready') return reply(res, 200, {});
      const m = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?(\/infer)?$/.exec(url);
      const session = m ? sessions.get(decodeURIComponent(m[1]!)) : undefined;
      if (!m || !session) return reply(res, 404, { error: `no route or model for ${req.method} ${url}` });
      if (!m[2]) return reply(res, 200, metadata(m[1]!, session));
      let feeds: Record<string, ort.Tensor>;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: JsonTensor[] };
        feeds = Object.fromEntries(body.inputs.map((t) => [t.name, toOrt(t)]));
      } catch (err) {
        return reply(res, 400, { error: (err as Error).message });
      }
      session.run(feeds).then(
        (out) => reply(res, 200, { model_name: m[1], model_version: '1', outputs: Object.entries(out).map(([name, t]) => fromOrt(name, t)) }),
        (err: unknown) => reply(res, 400, { error: (err as Error).message }),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    models: [...sessions.keys()],
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([...sessions.values()].map((s) => s.release()));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { 'model-repository': { type: 'string', default: 'models' }, port: { type: 'string', default: '8001' }, host: { type: 'string', default: '127.0.0.1' } } });
  const s = await startNaiveServer(values['model-repository'], Number(values.port), values.host);
  console.log(`naive-server listening on ${s.url} (models: ${s.models.join(', ')})`);
  const stop = (): void => void s.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
