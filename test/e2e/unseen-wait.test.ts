/**
 * A request that reaches the server while its event loop is busy waits, unread, in its socket;
 * its client's deadline runs meanwhile. The server dates such a request's arrival back by the
 * loop's recent lag (server.ts), so that a deadline already spent in the socket is refused
 * instead of being served late. The server runs in this process, so the test makes the loop busy
 * by spinning it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useExampleServer } from '../support/example-server.js';
import { post } from '../support/client.js';

/** Keeps the event loop busy for `ms`, as a burst of requests would. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* busy */ }
}

describe('arrival dated back by the event loop lag', () => {
  const server = useExampleServer(['identity_fp32']);
  const infer = (deadlineMs: number) => post(`${server.url}/v2/models/identity_fp32/infer`, JSON.stringify({
    inputs: [{ name: 'INPUT_FP32', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] }],
    parameters: { deadline_ms: deadlineMs },
  }));

  it('refuses a short deadline while the loop has been lagging by more, and serves it once the lag is gone', async () => {
    expect((await infer(40)).status).toBe(200);
    // Busy spells of 100 ms with short breaks: the lag timer (due every 20 ms) fires in each break
    // about 80 ms late. Lag samples count for a second, so 1.2 s of spells leave only late ones
    // (fewer spells would leave idle samples from before them, which can hold the median down).
    for (let i = 0; i < 12; i++) {
      spin(100);
      await sleep(1);
    }
    const late = await infer(40);
    expect(late.status).toBe(429);
    expect(late.body.toString()).toMatch(/deadline 40 ms after arrival passed before it was queued/);
    // Lag samples count for a second; after that the loop's idle lag is what remains.
    await sleep(1200);
    expect((await infer(40)).status).toBe(200);
  });
});
