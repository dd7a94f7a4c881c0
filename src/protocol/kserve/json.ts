/**
 * A strict JSON parser for the two jobs JSON.parse does badly here:
 * - INT64/UINT64 tensor data beyond 2^53, which JSON.parse silently rounds: this parser
 *   returns integer literals outside the safe range as bigint, digit for digit;
 * - saying where a malformed body goes wrong: V8's messages give a position only sometimes
 *   and may quote the whole body back.
 * It is several times slower than JSON.parse, so the decoder calls it only after JSON.parse
 * has failed or has produced an integer it cannot hold exactly.
 */

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(
    readonly problem: string,
    /** Index into the text (UTF-16 code units). */
    readonly position: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${problem} at line ${line}, column ${column}`);
  }
}

/** A value as an error message shows it: short, and typed where JSON would hide the type. */
export function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'bigint' || (typeof v === 'number' && !Number.isFinite(v))) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Parses `text` like JSON.parse, except that integers outside ±(2^53-1) come back as bigint. */
export function parseJsonExact(text: string): unknown {
  return new Parser(text).parseDocument();
}

// Deep enough for any tensor's nesting; shallow enough that recursion cannot exhaust the stack.
const MAX_DEPTH = 512;

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): unknown {
    this.skipSpace();
    if (this.i >= this.s.length) this.fail('empty JSON text');
    const v = this.value(0);
    this.skipSpace();
    if (this.i < this.s.length) this.fail('unexpected text after the JSON value');
    return v;
  }

  private value(depth: number): unknown {
    const c = this.s.charCodeAt(this.i);
    if (c === 0x7b /* { */) return this.object(depth + 1);
    if (c === 0x5b /* [ */) return this.array(depth + 1);
    if (c === 0x22 /* " */) return this.string();
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74 /* t */) return this.literal('true', true);
    if (c === 0x66 /* f */) return this.literal('false', false);
    if (c === 0x6e /* n */) return this.literal('null', null);
    return this.fail(Number.isNaN(c) ? 'unexpected end of JSON' : `unexpected character ${JSON.stringify(this.s[this.i])}`);
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) this.fail(`JSON nested deeper than ${MAX_DEPTH} levels`);
    this.i++;
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.s.charCodeAt(this.i) === 0x7d /* } */) {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail('expected a property name in double quotes');
      const key = this.string();
      this.skipSpace();
      if (this.s.charCodeAt(this.i) !== 0x3a /* : */) this.fail("expected ':' after a property name");
      this.i++;
      this.skipSpace();
      // defineProperty, so that a "__proto__" key is data as with JSON.parse, not a prototype.
      Object.defineProperty(out, key, { value: this.value(depth), writable: true, enumerable: true, configurable: true });
      this.skipSpace();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x7d) {
        this.i++;
        return out;
      }
      if (c !== 0x2c /* , */) this.fail("expected ',' or '}' after a property value");
      this.i++;
    }
  }

  private array(depth: number): unknown[] {
    if (depth > MAX_DEPTH) this.fail(`JSON nested deeper than ${MAX_DEPTH} levels`);
    this.i++;
    const out: unknown[] = [];
    this.skipSpace();
    if (this.s.charCodeAt(this.i) === 0x5d /* ] */) {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.value(depth));
      this.skipSpace();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x5d) {
        this.i++;
        return out;
      }
      if (c !== 0x2c) this.fail("expected ',' or ']' after an array element");
      this.i++;
    }
  }

  private string(): string {
    const start = this.i;
    let j = start + 1;
    let escaped = false;
    for (;;) {
      const c = this.s.charCodeAt(j);
      if (Number.isNaN(c)) {
        this.i = start;
        this.fail('unterminated string');
      }
      if (c === 0x22) break;
      if (c < 0x20) {
        this.i = j;
        this.fail('control character inside a string');
      }
      if (c === 0x5c /* \ */) {
        escaped = true;
        j += 2;
      } else {
        j++;
      }
    }
    this.i = j + 1;
    if (!escaped) return this.s.slice(start + 1, j);
    // Escapes are rare in requests; JSON.parse knows them all and checks them.
    try {
      return JSON.parse(this.s.slice(start, j + 1)) as string;
    } catch {
      this.i = start;
      return this.fail('invalid escape sequence in string');
    }
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) return this.fail('invalid number');
    this.i += m[0].length;
    const n = Number(m[0]);
    // Only a plain integer literal can name an exact integer; 1e19 is a float by intent.
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  private literal<T>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) this.fail(`unexpected character ${JSON.stringify(this.s[this.i])}`);
    this.i += word.length;
    return v;
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  private fail(problem: string): never {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < this.i && k < this.s.length; k++) {
      if (this.s.charCodeAt(k) === 0x0a) {
        line++;
        lineStart = k + 1;
      }
    }
    throw new JsonSyntaxError(problem, this.i, line, this.i - lineStart + 1);
  }
}
