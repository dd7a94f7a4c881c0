import { invalid } from '../core/errors.js';

/**
 * Names that may become path components: model directories and model file names.
 *
 * The repository only ever joins names it got by listing a directory itself (names from
 * requests are looked up in a Map, never joined into a path), so this check is a second
 * line of defence, and it also keeps odd names out of logs, URLs and metric labels.
 */

/** Most filesystems cap a path component at 255 bytes, so a longer name could never exist. */
const MAX_NAME_BYTES = 255;

// C0 controls, DEL and C1 controls: invisible in logs and able to forge log lines.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function isSafeName(s: string): boolean {
  if (s.length === 0 || Buffer.byteLength(s, 'utf8') > MAX_NAME_BYTES) return false;
  if (s === '.' || s === '..') return false;
  if (s.includes('/') || s.includes('\\')) return false;
  return !CONTROL.test(s); // NUL included
}

/** Throws invalid_argument when `s` is not a safe name; `what` says what the name is for. */
export function checkSafeName(s: string, what = 'model name'): string {
  if (!isSafeName(s)) {
    throw invalid(`${what} ${JSON.stringify(s)} is not allowed: use 1-255 bytes without '/', '\\', control characters, and not '.' or '..'`);
  }
  return s;
}

/**
 * A version directory name: a positive integer in plain decimal digits. Leading zeros are
 * refused so that "1" and "01" cannot both claim version 1, and values stay exact as numbers.
 */
export function isVersionName(s: string): boolean {
  return /^[1-9][0-9]{0,15}$/.test(s) && Number(s) <= Number.MAX_SAFE_INTEGER;
}
