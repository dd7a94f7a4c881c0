/**
 * Malformed requests against the real server and real models: each gets a 4xx whose message
 * names what is wrong, and the server keeps answering valid requests correctly.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { DATATYPES } from '../../src/core/datatype.js';
import { get, inferJson, jsonData, post } from '../support/client.js';
import { randomTensor } from '../support/data.js';
import { jsonWithBigInts } from '../protocol/helpers.js';

const ones = (n: number) => Array.from({ length: n }, () => 1);
const addSub = (in0: object, in1: object = { name: 'INPUT1', datatype: 'FP32', shape: [1, 16], data: ones(16) }) =>
  JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: ones(16), ...in0 }, in1] });
const identity = (input: object) => JSON.stringify({ inputs: [{ name: 'INPUT_INT8', datatype: 'INT8', shape: [2], data: [1, 2], ...input }] });

interface Case {
  what: string;
  path?: string;
  body: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  message: RegExp;
}

const CASES: Case[] = [
  { what: 'unknown model', path: '/v2/models/nope/infer', body: addSub({}), status: 404, message: /nope/ },
  { what: 'unknown version', path: '/v2/models/add_sub/versions/7/infer', body: addSub({}), status: 404, message: /version '7'/ },
  { what: 'missing input', body: JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: ones(16) }] }), status: 400, message: /missing input 'INPUT1'/ },
  { what: 'extra input', body: JSON.stringify({ inputs: [...JSON.parse(addSub({})).inputs, { name: 'INPUT2', datatype: 'FP32', shape: [1], data: [1] }] }), status: 400, message: /INPUT2/ },
  { what: 'misnamed input', body: addSub({ name: 'input0' }), status: 400, message: /input0/ },
  { what: 'wrong datatype', body: addSub({ datatype: 'FP64' }), status: 400, message: /INPUT0.*FP64.*FP32/ },
  { what: 'unknown datatype', body: addSub({ datatype: 'FLOAT' }), status: 400, message: /INPUT0.*FLOAT/ },
  { what: 'data shorter than shape', body: addSub({ data: ones(15) }), status: 400, message: /INPUT0.*15.*16/ },
  { what: 'shape the model does not take', body: addSub({ shape: [1, 8], data: ones(8) }), status: 400, message: /INPUT0.*shape/ },
  { what: 'batch over max_batch_size', body: addSub({ shape: [9, 16], data: ones(144) }, { name: 'INPUT1', datatype: 'FP32', shape: [9, 16], data: ones(144) }), status: 400, message: /INPUT0.*batch size 9.*8/ },
  { what: 'ragged nested data', body: addSub({ shape: [2, 16], data: [ones(16), ones(15)] }, { name: 'INPUT1', datatype: 'FP32', shape: [2, 16], data: ones(32) }), status: 400, message: /INPUT0.*ragged/i },
  { what: 'value out of range for INT8', path: '/v2/models/identity/infer', body: identity({ data: [1, 300] }), status: 400, message: /INPUT_INT8.*300/ },
  { what: 'fraction for an integer type', path: '/v2/models/identity/infer', body: identity({ data: [1, 2.5] }), status: 400, message: /INPUT_INT8.*2\.5/ },
  { what: 'string where a number belongs', body: addSub({ data: ['a', ...ones(15)] }), status: 400, message: /INPUT0/ },
  { what: 'malformed JSON', body: '{"inputs": [', status: 400, message: /JSON/ },
  { what: 'JSON that is not an object', body: '[1,2]', status: 400, message: /object/ },
  { what: 'no inputs', body: '{"inputs": []}', status: 400, message: /inputs/ },
  { what: 'negative dimension', body: addSub({ shape: [-1, 16] }), status: 400, message: /INPUT0.*shape/ },
  { what: 'element count over the limit', body: addSub({ shape: [100000, 100000, 100000] }), status: 413, message: /INPUT0/ },
  { what: 'element count past 2^53', body: addSub({ shape: [2 ** 30, 2 ** 30, 2 ** 30] }), status: 413, message: /INPUT0/ },
  { what: 'model name with ..', path: '/v2/models/..%2F..%2Fetc/infer', body: addSub({}), status: 400, message: /model name/ },
  { what: 'model name with /', path: '/v2/models/a%2Fb/infer', body: addSub({}), status: 400, message: /model name/ },
  { what: 'model name with NUL', path: '/v2/models/add%00sub/infer', body: addSub({}), status: 400, message: /model name/ },
  { what: 'non-numeric version', path: '/v2/models/add_sub/versions/..%2F1/infer', body: addSub({}), status: 400, message: /version/ },
  {
    what: 'NUL byte in a BYTES element (onnxruntime would cut the string there)',
    path: '/v2/models/identity/infer',
    body: jsonWithBigInts({
      inputs: DATATYPES.map((dt, i) => {
        const t = randomTensor(`INPUT_${dt}`, dt, [1], i);
        return { name: t.name, datatype: dt, shape: [1], data: dt === 'BYTES' ? ['a\u0000b'] : jsonData(t) };
      }),
    }),
    status: 400,
    message: /INPUT_BYTES.*NUL/,
  },
];

function binaryCase(what: string, sizes: number[], trailing: number, message: RegExp): Case {
  const header = Buffer.from(JSON.stringify({
    inputs: ['INPUT0', 'INPUT1'].map((name, i) => ({ name, datatype: 'FP32', shape: [1, 16], parameters: { binary_data_size: sizes[i] } })),
  }));
  return {
    what, body: Buffer.concat([header, Buffer.alloc(64 + 64 + trailing)]), status: 400, message,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

CASES.push(
  binaryCase('binary sizes that do not cover the body', [64, 64], 10, /10 bytes/),
  binaryCase('binary size larger than what is left', [64, 200], 0, /INPUT1/),
  binaryCase('binary size that does not fit the shape', [60, 68], 0, /INPUT0.*60/),
  { what: 'header length past the body', body: '{"inputs":[]}', headers: { 'inference-header-content-length': '9999' }, status: 400, message: /header/i },
);

describe('bad input gets a 4xx naming the problem', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ modelRepository: inject('exampleRepository'), httpPort: 0, logLevel: 'silent', bodyLimitBytes: 1024 * 1024 });
  });
  afterAll(() => server.close());

  for (const c of CASES) {
    it(c.what, async () => {
      const r = await post(`${server.url}${c.path ?? '/v2/models/add_sub/infer'}`, c.body, c.headers);
      const body = JSON.parse(r.body.toString()) as { error: string };
      expect(r.status, body.error).toBe(c.status);
      expect(body.error).toMatch(c.message);
    });
  }

  it('a body over the limit gets 413', async () => {
    const r = await post(`${server.url}/v2/models/add_sub/infer`, Buffer.alloc(2 * 1024 * 1024, 32));
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body.toString()).error).toMatch(/large|limit/i);
  });

  it('metadata of an unknown model is 404, of an unknown route too, both as JSON errors', async () => {
    for (const p of ['/v2/models/nope', '/v2/models/nope/ready', '/v3/anything']) {
      const r = await get(`${server.url}${p}`);
      expect(r.status, p).toBe(404);
      expect(JSON.parse(r.body.toString()).error, p).toBeTypeOf('string');
    }
  });

  it('still answers a valid request correctly afterwards', async () => {
    const [sum] = await inferJson(server.url, 'add_sub', [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(2) },
      { name: 'INPUT1', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(3) },
    ]);
    expect([...(sum!.data as Float32Array)]).toEqual(Array(16).fill(5));
  });
});
