/**
 * Wire-level helpers for the KServe protocol tests: writing requests with binary tensor data
 * and reading binary responses, independently of the adapter's own code.
 */

/** JSON text in which bigint values are written as bare integer literals. */
export function jsonWithBigInts(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `@@big:${v}@@` : v))
    .replace(/"@@big:(-?[0-9]+)@@"/g, '$1');
}

/** A request body of a JSON header followed by `chunks` in order. */
export function binaryBody(header: unknown, chunks: Uint8Array[]): { body: Buffer; headerLength: number } {
  const head = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([head, ...chunks]), headerLength: head.length };
}

/** The binary-extension layout of BYTES elements: u32 LE length, then the bytes. */
export function bytesChunk(elements: Array<string | Uint8Array>): Buffer {
  const parts: Buffer[] = [];
  for (const e of elements) {
    const b = typeof e === 'string' ? Buffer.from(e, 'utf8') : Buffer.from(e);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/** Little-endian bytes of a typed array (copied, so tests can offset them freely). */
export function le(a: ArrayBufferView): Buffer {
  return Buffer.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

export interface ParsedOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: Record<string, unknown>;
  /** The output's binary data, when it came as binary. */
  bytes?: Buffer;
}

export interface ParsedResponse {
  json: Record<string, unknown>;
  outputs: ParsedOutput[];
}

/**
 * Splits a response body into its JSON header and each binary output's bytes, checking that
 * the binary_data_size values account for every byte after the header.
 */
export function parseInferResponse(body: Buffer, headerLength?: number): ParsedResponse {
  const end = headerLength ?? body.length;
  const json = JSON.parse(body.subarray(0, end).toString('utf8')) as Record<string, unknown>;
  const outputs = (json.outputs ?? []) as ParsedOutput[];
  let off = end;
  for (const o of outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (typeof size !== 'number' || off + size > body.length) throw new Error(`bad binary_data_size for ${o.name}`);
    o.bytes = body.subarray(off, off + size);
    off += size;
  }
  if (off !== body.length) throw new Error(`${body.length - off} unaccounted bytes after binary outputs`);
  return { json, outputs };
}

/** Splits BYTES binary data into its elements. */
export function splitBytes(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < b.length;) {
    const n = b.readUInt32LE(off);
    out.push(b.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  return out;
}
