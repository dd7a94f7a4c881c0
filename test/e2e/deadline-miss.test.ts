/**
 * shoal_deadline_misses_total counts requests answered after their deadline: ones the
 * scheduler could not see coming (here the model's first request, before any compute time is
 * known), as opposed to the ones it refuses in advance (shoal_refusals_total, reason deadline).
 */
import { describe, expect, it } from 'vitest';
import { useExampleServer } from '../support/example-server.js';
import { get, post } from '../support/client.js';

const SIDE = 960;

describe('deadline misses', () => {
  const server = useExampleServer(['ocr_det']);

  const infer = async (parameters: Record<string, unknown>) => {
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, SIDE, SIDE], parameters: { binary_data_size: 4 * 3 * SIDE * SIDE } }],
      parameters: { binary_data_output: true, ...parameters },
    }));
    const body = Buffer.concat([header, Buffer.from(new Float32Array(3 * SIDE * SIDE).fill(0.5).buffer)]);
    return post(`${server.url}/v2/models/ocr_det/infer`, body, {
      'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length),
    });
  };
  const misses = async () => {
    const text = (await get(`${server.url}/metrics`)).body.toString();
    const m = /shoal_deadline_misses_total\{model="ocr_det",version="1"\} (\d+)/.exec(text);
    return m ? Number(m[1]) : 0;
  };

  it('counts a request answered late, not one without a deadline nor one answered in time', async () => {
    expect(await misses()).toBe(0);
    // Nothing is known of the model's compute time yet, so a request whose deadline has not
    // passed by the time it runs is admitted, and missed: the text detector computes for about
    // a second at 960×960 here. Reading the 11 MB body takes 0.1 to 0.3 s, longer on a busy
    // machine; a deadline that passes before the request runs is refused (429) without running,
    // which teaches the profile nothing, so a longer deadline is tried.
    let late = await infer({ deadline_ms: 200 });
    for (const deadline of [350, 500]) {
      if (late.status === 200) break;
      expect(late.body.toString()).toMatch(/passed before it was queued|passed .* before it could run/);
      late = await infer({ deadline_ms: deadline });
    }
    expect(late.status).toBe(200);
    expect(await misses()).toBe(1);
    expect((await infer({})).status).toBe(200);
    expect((await infer({ deadline_ms: 60_000 })).status).toBe(200);
    expect(await misses()).toBe(1);
  });
});
