/**
 * readBody (src/protocol/kserve/body.ts): the body lands in one buffer of its own with the
 * binary data aligned, and the limits and length checks answer as fastify's did.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BINARY_ALIGNMENT, type BodyRead, OWN_MEMORY_FROM, ownsMemory, readBody } from '../../src/protocol/kserve/body.js';

/** Streams `chunks` into readBody and resolves with what it made of them. */
function read(chunks: Buffer[], opts: BodyRead): Promise<{ body?: Buffer; err?: Error & { statusCode?: number; code?: string } }> {
  const stream = new PassThrough();
  const result = new Promise<{ body?: Buffer; err?: Error }>((resolve) => {
    readBody(stream as unknown as IncomingMessage, opts, (err, body) => resolve(err ? { err } : { body: body! }));
  });
  for (const c of chunks) stream.write(c);
  stream.end();
  return result;
}

const bytes = (n: number, from = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));

describe('readBody', () => {
  it('joins the chunks, with or without a Content-Length', async () => {
    const whole = bytes(300_000);
    const chunks = [whole.subarray(0, 65_536), whole.subarray(65_536, 200_000), whole.subarray(200_000)];
    for (const contentLength of [whole.length, undefined]) {
      const { body, err } = await read(chunks, { limit: 1 << 20, ...(contentLength !== undefined && { contentLength }) });
      expect(err).toBeUndefined();
      expect(body!.equals(whole), `content-length ${contentLength}`).toBe(true);
    }
  });

  it('puts the binary data on an aligned address for every header length, short bodies and long', async () => {
    for (const size of [64, OWN_MEMORY_FROM + 100]) {
      for (let offset = 0; offset < 2 * BINARY_ALIGNMENT; offset++) {
        const whole = bytes(offset + size, offset);
        for (const contentLength of [whole.length, undefined]) {
          const { body } = await read([whole.subarray(0, 5), whole.subarray(5)], { limit: 1 << 20, binaryOffset: offset, ...(contentLength !== undefined && { contentLength }) });
          expect(body!.equals(whole)).toBe(true);
          expect((body!.byteOffset + offset) % BINARY_ALIGNMENT, `size ${size}, offset ${offset}`).toBe(0);
        }
      }
    }
  });

  it('gives a long body memory of its own, which can be moved to another thread without moving anything else', async () => {
    expect(ownsMemory(64)).toBe(false);
    expect(ownsMemory(OWN_MEMORY_FROM)).toBe(true);
    const whole = bytes(OWN_MEMORY_FROM + 3);
    const { body } = await read([whole], { limit: 1 << 20, contentLength: whole.length, binaryOffset: 3 });
    const memory = body!.buffer as ArrayBuffer;
    expect(memory.byteLength).toBeLessThan(whole.length + BINARY_ALIGNMENT);
    const moved = structuredClone(memory, { transfer: [memory] });
    expect(moved.byteLength).toBeGreaterThanOrEqual(whole.length);
    expect(Buffer.from(moved, moved.byteLength - whole.length).equals(whole)).toBe(true);
  });

  it('refuses a body over the limit, declared or received, with fastify\'s 413', async () => {
    const declared = await read([bytes(10)], { limit: 100, contentLength: 101 });
    expect([declared.err?.code, declared.err?.statusCode]).toEqual(['FST_ERR_CTP_BODY_TOO_LARGE', 413]);
    const received = await read([bytes(60), bytes(60)], { limit: 100 });
    expect([received.err?.code, received.err?.statusCode]).toEqual(['FST_ERR_CTP_BODY_TOO_LARGE', 413]);
  });

  it('refuses a body shorter than its Content-Length with 400', async () => {
    const { err } = await read([bytes(10)], { limit: 100, contentLength: 20 });
    expect([err?.code, err?.statusCode]).toEqual(['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400]);
  });
});
