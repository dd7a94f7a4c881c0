import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/core/errors.js';
import { parseModelConfig } from '../../src/repository/config.js';

const FILE = 'models/mlp/config.yaml';
const parse = (text: string) => parseModelConfig(text, FILE, 'mlp');
const NONE = { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 0 };

function errorOf(text: string): string {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ShoalError);
    return (e as ShoalError).message;
  }
  throw new Error('expected the config to be refused');
}

describe('dynamic_batching: priority levels and queue policies', () => {
  it('reads levels and per-level policies; unset policy fields take proto defaults, not the default policy', () => {
    const cfg = parse(`
max_batch_size: 8
dynamic_batching:
  priority_levels: 3
  default_priority_level: 2
  default_queue_policy: { timeout_action: DELAY, default_timeout_microseconds: 5000, max_queue_size: 16 }
  priority_queue_policy:
    1: { default_timeout_microseconds: 1000, allow_timeout_override: true }
    3: {}
`);
    expect(cfg.dynamic_batching).toMatchObject({
      priority_levels: 3,
      default_priority_level: 2,
      default_queue_policy: { timeout_action: 'DELAY', default_timeout_microseconds: 5000, allow_timeout_override: false, max_queue_size: 16 },
      priority_queue_policy: {
        1: { ...NONE, default_timeout_microseconds: 1000, allow_timeout_override: true },
        3: NONE,
      },
    });
  });

  it("reads Triton's JSON: 64-bit integers as strings, map keys as strings, the action's enum number", () => {
    const cfg = parseModelConfig(JSON.stringify({
      max_batch_size: 4,
      dynamic_batching: {
        priority_levels: '2', default_priority_level: '1',
        default_queue_policy: { timeout_action: 1, default_timeout_microseconds: '250', allow_timeout_override: false, max_queue_size: 0 },
        priority_queue_policy: { 2: { timeout_action: 'REJECT', max_queue_size: 3 } },
      },
    }), 'models/mlp/config.json', 'mlp');
    expect(cfg.dynamic_batching?.default_queue_policy).toEqual({ ...NONE, timeout_action: 'DELAY', default_timeout_microseconds: 250 });
    expect(cfg.dynamic_batching?.priority_queue_policy).toEqual({ 2: { ...NONE, max_queue_size: 3 } });
  });

  it('without levels, the default queue policy still applies to the one queue', () => {
    const cfg = parse('max_batch_size: 4\ndynamic_batching: { default_queue_policy: { max_queue_size: 2 } }');
    expect(cfg.dynamic_batching).toMatchObject({ priority_levels: 0, default_priority_level: 0, default_queue_policy: { max_queue_size: 2 } });
  });

  it('a default level out of range, or missing, names the field and the range', () => {
    expect(errorOf('max_batch_size: 4\ndynamic_batching: { priority_levels: 2, default_priority_level: 3 }'))
      .toBe(`${FILE}: dynamic_batching.default_priority_level: 3 is out of range: levels are 1 to 2 (priority_levels)`);
    expect(errorOf('max_batch_size: 4\ndynamic_batching: { priority_levels: 2 }'))
      .toMatch(/dynamic_batching\.default_priority_level: is required with priority_levels 2: the level \(1 to 2\)/);
  });

  it('a per-level policy for a level that does not exist', () => {
    const levels = 'max_batch_size: 4\ndynamic_batching: { priority_levels: 2, default_priority_level: 1, priority_queue_policy: ';
    expect(errorOf(`${levels}{ 3: {} } }`)).toMatch(/dynamic_batching\.priority_queue_policy\["3"\]: priority level 3 is out of range: levels are 1 to 2/);
    expect(errorOf(`${levels}{ 0: {} } }`)).toMatch(/priority_queue_policy\["0"\]: priority level 0 is out of range/);
    expect(errorOf(`${levels}{ high: {} } }`)).toMatch(/dynamic_batching\.priority_queue_policy\.high: "high" is not a priority level \(expected an integer\)/);
  });

  it('a key of __proto__ is refused, not turned into a prototype', () => {
    const json = '{"max_batch_size": 4, "dynamic_batching": {"priority_levels": 1, "default_priority_level": 1, "priority_queue_policy": {"__proto__": {"max_queue_size": 1}}}}';
    expect(() => parseModelConfig(json, 'config.json', 'mlp')).toThrow(/"__proto__" is not a priority level/);
  });

  it('level settings without levels', () => {
    expect(errorOf('max_batch_size: 4\ndynamic_batching: { default_priority_level: 1 }'))
      .toMatch(/dynamic_batching\.default_priority_level: needs priority_levels > 0 \(with 0, priorities are off\)/);
    expect(errorOf('max_batch_size: 4\ndynamic_batching: { priority_queue_policy: { 1: {} } }'))
      .toMatch(/dynamic_batching\.priority_queue_policy: needs priority_levels > 0/);
  });

  it('bad queue policy values', () => {
    expect(errorOf('max_batch_size: 4\ndynamic_batching: { default_queue_policy: { timeout_action: DROP } }'))
      .toMatch(/dynamic_batching\.default_queue_policy\.timeout_action: expected one of REJECT, DELAY, got "DROP"/);
    expect(errorOf('max_batch_size: 4\ndynamic_batching: { default_queue_policy: { default_timeout_microseconds: -5 } }'))
      .toMatch(/default_queue_policy\.default_timeout_microseconds: expected an integer >= 0, got -5/);
    expect(errorOf('max_batch_size: 4\ndynamic_batching: { default_queue_policy: { max_queue_sise: 5 } }'))
      .toMatch(/default_queue_policy: unknown field "max_queue_sise" \(did you mean "max_queue_size"\?\)/);
  });
});

describe('slo', () => {
  it('reads the default deadline; an empty block means none', () => {
    expect(parse('slo: { default_deadline_microseconds: 50000 }').slo).toEqual({ default_deadline_microseconds: 50000 });
    expect(parse('slo:\n').slo).toEqual({ default_deadline_microseconds: 0 });
    expect(parse('').slo).toBeUndefined();
  });

  it('works without dynamic batching (each request runs alone, still within its deadline)', () => {
    expect(parse('max_batch_size: 0\nslo: { default_deadline_microseconds: 1000 }').slo?.default_deadline_microseconds).toBe(1000);
  });

  it('unknown or bad fields', () => {
    expect(errorOf('slo: { deadline_ms: 50 }')).toMatch(/slo: unknown field "deadline_ms" \(known fields: default_deadline_microseconds\)/);
    expect(errorOf('slo: { default_deadline_microseconds: 1.5 }')).toMatch(/slo\.default_deadline_microseconds: expected an integer >= 0/);
  });
});
