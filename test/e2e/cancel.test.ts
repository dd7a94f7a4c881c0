/**
 * A request whose client goes away while it waits in the queue is never run (issue 3, item 6),
 * through the real HTTP adapter and scheduler: the adapter's cheap `cancelled` flag is what the
 * scheduler polls.
 */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { useExampleServer } from '../support/example-server.js';
import { get } from '../support/client.js';

const SIDE = 960;

describe('a queued request whose client disconnects', () => {
  const server = useExampleServer(['ocr_det']);

  const body = (() => {
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, SIDE, SIDE], parameters: { binary_data_size: 4 * 3 * SIDE * SIDE } }],
      parameters: { binary_data_output: true },
    }));
    return { header, all: Buffer.concat([header, Buffer.from(new Float32Array(3 * SIDE * SIDE).fill(0.5).buffer)]) };
  })();
  const send = (signal?: AbortSignal) => request(`${server.url}/v2/models/ocr_det/infer`, {
    method: 'POST', body: body.all, signal,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(body.header.length) },
  });
  const stats = async () => {
    const s = JSON.parse((await get(`${server.url}/v2/models/ocr_det/stats`)).body.toString()) as { model_stats: Array<{ inference_count: number; execution_count: number }> };
    return s.model_stats[0]!;
  };
  const queueDepth = async () => {
    const m = /shoal_queue_depth\{model="ocr_det",version="1"\} (\d+)/.exec((await get(`${server.url}/metrics`)).body.toString());
    return m ? Number(m[1]) : 0;
  };
  const cancelledCount = async () => {
    const m = /shoal_inference_requests_total\{model="ocr_det",version="1",outcome="cancelled"\} (\d+)/.exec((await get(`${server.url}/metrics`)).body.toString());
    return m ? Number(m[1]) : 0;
  };

  it('is answered as cancelled and never executed, while the request ahead of it is', async () => {
    // The text detector computes for about a second at 960×960 here, on one instance: the
    // second request waits behind the first, and its client leaves meanwhile.
    const first = send();
    await new Promise((r) => setTimeout(r, 150));
    const client = new AbortController();
    const second = send(client.signal).catch((e: unknown) => e);
    // Leave only once the server has it queued (its body read, behind the first).
    const giveUp = Date.now() + 10_000;
    while ((await queueDepth()) < 1 && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 10));
    expect(await queueDepth()).toBe(1);
    client.abort();
    expect(await second).toBeInstanceOf(Error);
    const answered = await first;
    expect(answered.statusCode).toBe(200);
    await answered.body.arrayBuffer();
    // A later request still runs: the queue was not left stuck behind the dropped one.
    const third = await send();
    expect(third.statusCode).toBe(200);
    await third.body.arrayBuffer();
    expect(await stats()).toMatchObject({ inference_count: 2, execution_count: 2 });
    expect(await cancelledCount()).toBe(1);
  });
});
