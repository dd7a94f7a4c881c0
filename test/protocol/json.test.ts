import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseJsonExact } from '../../src/protocol/kserve/json.js';

describe('parseJsonExact', () => {
  it('agrees with JSON.parse on ordinary documents', () => {
    const docs = [
      '{"a":[1,-2.5,3e2,-0,0.125e-3],"b":{"c":null,"d":true,"e":false},"s":"x\\"y\\\\z\\u00e9\\n"}',
      ' [ ] ', '{}', '"just a string"', '12', ' \t\r\n[[],[[]],{"":""}]',
      '{"a":1,"a":2}', '9007199254740991', '-9007199254740991', '1.5e308',
    ];
    for (const d of docs) expect(parseJsonExact(d)).toEqual(JSON.parse(d));
  });

  it('returns integer literals beyond 2^53 as bigint, and other numbers as numbers', () => {
    expect(parseJsonExact('[9007199254740992,-9223372036854775808,18446744073709551615,1e19,9007199254740993.0]'))
      .toEqual([9007199254740992n, -9223372036854775808n, 18446744073709551615n, 1e19, 9007199254740992]);
  });

  it('keeps a "__proto__" key as data, as JSON.parse does', () => {
    const v = parseJsonExact('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  const bad: Array<[string, string, number, number]> = [
    ['', 'empty', 1, 1],
    ['{"a":}', 'unexpected character "}"', 1, 6],
    ['{"a":1,}', 'property name', 1, 8],
    ['[1,2,]', 'unexpected character "]"', 1, 6],
    ['{"a" 1}', "expected ':'", 1, 6],
    ['[1 2]', "expected ',' or ']'", 1, 4],
    ['{"a":1 "b":2}', "expected ',' or '}'", 1, 8],
    ['"abc', 'unterminated string', 1, 1],
    ['"a\tb"', 'control character', 1, 3],
    ['"\\x"', 'invalid escape', 1, 1],
    ['01', 'unexpected text after', 1, 2],
    ['-', 'invalid number', 1, 1],
    ['1.', 'unexpected text after', 1, 2],
    ['tru', 'unexpected character "t"', 1, 1],
    ['NaN', 'unexpected character "N"', 1, 1],
    ['{\n  "a": [\n    1,\n  }', 'unexpected character "}"', 4, 3],
    ['[', 'unexpected end', 1, 2],
  ];
  for (const [text, problem, line, column] of bad) {
    it(`locates the error in ${JSON.stringify(text)}`, () => {
      expect(() => JSON.parse(text)).toThrow();
      let err: unknown;
      try {
        parseJsonExact(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(JsonSyntaxError);
      const e = err as JsonSyntaxError;
      expect(e.problem).toContain(problem);
      expect([e.line, e.column]).toEqual([line, column]);
      expect(e.message).toBe(`${e.problem} at line ${line}, column ${column}`);
    });
  }

  it('refuses nesting deep enough to threaten the stack', () => {
    expect(() => parseJsonExact('['.repeat(100_000))).toThrow(/nested deeper/);
    expect(parseJsonExact(`${'['.repeat(500)}${']'.repeat(500)}`)).toBeInstanceOf(Array);
  });
});
