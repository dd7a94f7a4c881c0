/**
 * Reads an inference request's body into one buffer of its own, placed so that the binary
 * tensor data after the JSON header starts 8-byte aligned.
 *
 * Why not fastify's `parseAs: 'buffer'`: it joins the socket's chunks with Buffer.concat at
 * whatever alignment that lands, so the decoder had to copy each tensor again to view it as a
 * Float32Array or BigInt64Array, and the backend copied it a third time to hand it to its
 * worker thread. For 32-image CIFAR batches (393 KB) those copies, and the collections of the
 * memory they churned, were about 40% of the event loop's busy time (docs/architecture.md,
 * "Where inference runs", has the profile). Here the chunks are
 * copied once, into a buffer allocated for this request alone (but for short bodies: see
 * OWN_MEMORY_FROM), so the tensors can be viewed in place and the buffer moved, not copied, to
 * the worker.
 *
 * The checks are fastify's own, with its errors: a declared or received length over the
 * route's body limit (413), and a body shorter or longer than its Content-Length (400).
 */
import type { IncomingMessage } from 'node:http';
import { errorCodes } from 'fastify';

/** Alignment of the binary data: the widest element (INT64, UINT64, FP64) is 8 bytes. */
export const BINARY_ALIGNMENT = 8;

export interface BodyRead {
  /** The route's body limit, bytes. */
  limit: number;
  /** The Content-Length header, if any; without it the body is gathered first and then placed. */
  contentLength?: number;
  /** Where the binary data starts (Inference-Header-Content-Length), if the body has any. */
  binaryOffset?: number;
}

type Done = (err: Error | null, body?: Buffer) => void;

export function readBody(payload: IncomingMessage, read: BodyRead, done: Done): void {
  const { limit, contentLength } = read;
  if (contentLength !== undefined && contentLength > limit) {
    done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  // Known length: copy each chunk straight to its place. Unknown (chunked): keep them until the end.
  let body = contentLength !== undefined ? placed(contentLength, read.binaryOffset) : undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  const finish = (err: Error | null, result?: Buffer): void => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
    done(err, result);
  };
  function onData(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const from = received;
    received += bytes.length;
    if (received > limit) {
      finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    if (body === undefined) chunks.push(bytes);
    else if (received <= body.length) body.set(bytes, from);
  }
  function onEnd(err?: Error & { statusCode?: number }): void {
    if (err != null) {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      finish(err);
      return;
    }
    if (contentLength !== undefined && received !== contentLength) {
      finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    if (body === undefined) {
      body = placed(received, read.binaryOffset);
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.length;
      }
    }
    finish(null, body);
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}

/**
 * Bodies shorter than this are cut from Node's shared pool, as fastify's were: cheaper to
 * allocate than memory of their own, for the many small requests a server sees, but not to be
 * moved to another thread, since other buffers share the pool; copying so little costs little.
 */
export const OWN_MEMORY_FROM = Buffer.poolSize >>> 1;

/** Whether a body of `length` bytes from readBody lies in memory of its own, which may be moved to another thread. */
export function ownsMemory(length: number): boolean {
  return length + BINARY_ALIGNMENT >= OWN_MEMORY_FROM;
}

/**
 * A buffer of `length` bytes starting just far enough into its memory that byte `binaryOffset`
 * falls on an aligned address (Node's pool hands out 8-aligned slices): memory of its own
 * (allocUnsafeSlow, never the shared pool) where `ownsMemory` says so.
 */
function placed(length: number, binaryOffset: number | undefined): Buffer {
  const lead = binaryOffset === undefined || binaryOffset < 0 || binaryOffset > length ? 0 : (BINARY_ALIGNMENT - (binaryOffset % BINARY_ALIGNMENT)) % BINARY_ALIGNMENT;
  const memory = ownsMemory(length) ? Buffer.allocUnsafeSlow(length + lead) : Buffer.allocUnsafe(length + lead);
  return lead === 0 ? memory : memory.subarray(lead);
}
