import { describe, expect, it } from 'vitest';
import { checkSafeName, isSafeName, isVersionName } from '../../src/repository/names.js';

describe('isSafeName', () => {
  it('accepts ordinary model names', () => {
    for (const n of ['mlp', 'resnet-50', 'my_model.v2', 'x', 'a'.repeat(255), 'modèle']) expect(isSafeName(n)).toBe(true);
  });

  it('refuses names that could leave the directory or hide in logs', () => {
    for (const n of ['', '.', '..', 'a/b', '../etc', 'a\\b', 'a\0b', 'line\nbreak', 'tab\there', 'del\x7f', 'c1\u0085', 'a'.repeat(256)]) {
      expect(isSafeName(n), JSON.stringify(n)).toBe(false);
    }
  });

  it('counts bytes, as filesystems do', () => {
    expect(isSafeName('é'.repeat(127))).toBe(true); // 254 bytes
    expect(isSafeName('é'.repeat(128))).toBe(false); // 256 bytes
  });

  it('checkSafeName throws invalid_argument naming the name', () => {
    expect(() => checkSafeName('../x')).toThrow(/model name "..\/x" is not allowed/);
    expect(checkSafeName('ok')).toBe('ok');
  });
});

describe('isVersionName', () => {
  it('accepts positive decimal integers only', () => {
    expect(['1', '2', '10', '123456'].every(isVersionName)).toBe(true);
    for (const v of ['0', '01', '-1', '1.0', '1e3', ' 1', 'v1', '', '99999999999999999']) expect(isVersionName(v), v).toBe(false);
  });
});
