import { invalid } from '../../core/errors.js';

const MAX_NAME_LENGTH = 255;

/**
 * Checks a model name or version taken from a URL and returns it unchanged.
 *
 * Names end up as directory names in the model repository, so anything that could step
 * outside it (separators, `..`) or that filesystems refuse (NUL, overlong) is rejected here,
 * once, for every route. fastify has already percent-decoded the value, so `%2F` arrives as `/`.
 */
export function checkModelName(name: string, what = 'model name'): string {
  if (name.length === 0) throw invalid(`${what} must not be empty`);
  if (name.length > MAX_NAME_LENGTH) {
    throw invalid(`${what} is ${name.length} characters long; at most ${MAX_NAME_LENGTH} are allowed`);
  }
  const bad = name.includes('/') ? "'/'"
    : name.includes('\\') ? "'\\'"
    : name.includes('\0') ? 'a NUL character'
    : name.includes('..') ? "'..'"
    : undefined;
  if (bad !== undefined) throw invalid(`${what} ${JSON.stringify(name)} must not contain ${bad}`);
  return name;
}
