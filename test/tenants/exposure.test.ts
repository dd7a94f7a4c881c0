import { describe, expect, it } from 'vitest';
import { exposureProblem, isLoopback } from '../../src/tenants/exposure.js';

describe('serving without tenants', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1', '::ffff:10.0.0.1']) expect(isLoopback(h), h).toBe(false);
  });

  it('is allowed on loopback, refused elsewhere unless tenants or the explicit flag are given', () => {
    expect(exposureProblem('127.0.0.1', false, false)).toBeUndefined();
    expect(exposureProblem('0.0.0.0', false, false)).toMatch(/refusing to serve without authentication on 0\.0\.0\.0.*--tenants FILE.*--allow-unauthenticated/);
    expect(exposureProblem('0.0.0.0', true, false)).toBeUndefined();
    expect(exposureProblem('0.0.0.0', false, true)).toBeUndefined();
  });
});
