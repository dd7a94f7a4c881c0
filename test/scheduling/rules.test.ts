import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/core/model-config.js';
import { completeConfig } from '../../src/repository/autocomplete.js';
import { parseModelConfig } from '../../src/repository/config.js';
import { NO_LIMITS, batchingConfigOf, queueRulesOf, rulesFor } from '../../src/scheduling/rules.js';

const config = (yaml: string): ModelConfig => completeConfig(parseModelConfig(yaml, 'config.yaml', 'm'), {
  inputs: [{ name: 'x', datatype: 'FP32', dims: [-1, 4] }],
  outputs: [{ name: 'y', datatype: 'FP32', dims: [-1, 2] }],
}, 'config.yaml');

describe('queue rules and batching config from a model config', () => {
  it('converts Triton units to milliseconds and fills levels without a policy from the default', () => {
    const cfg = config(`
max_batch_size: 8
dynamic_batching:
  preferred_batch_size: [4]
  max_queue_delay_microseconds: 1500
  preserve_ordering: true
  priority_levels: 3
  default_priority_level: 2
  default_queue_policy: { default_timeout_microseconds: 2500, timeout_action: DELAY, max_queue_size: 10 }
  priority_queue_policy: { 1: { max_queue_size: 4, allow_timeout_override: true } }
slo: { default_deadline_microseconds: 40000 }
`);
    const rules = queueRulesOf(cfg, 100);
    expect(rules).toMatchObject({ priorityLevels: 3, defaultLevel: 2, defaultDeadlineMs: 40, maxQueueSize: 100 });
    expect(rulesFor(rules, 1)).toEqual({ timeoutMs: 0, timeoutAction: 'REJECT', allowTimeoutOverride: true, maxQueueSize: 4 });
    expect(rulesFor(rules, 3)).toEqual({ timeoutMs: 2.5, timeoutAction: 'DELAY', allowTimeoutOverride: false, maxQueueSize: 10 });
    expect(batchingConfigOf(cfg)).toEqual({ maxBatchSize: 8, dynamic: { preferredBatchSizes: [4], maxQueueDelayMs: 1.5, preserveOrdering: true } });
  });

  it('without dynamic batching: one level, no limits, each request alone; an slo still applies', () => {
    const cfg = config('max_batch_size: 8\nslo: { default_deadline_microseconds: 5000 }');
    expect(queueRulesOf(cfg)).toEqual({
      priorityLevels: 0, defaultLevel: 1, defaultRules: NO_LIMITS, levelRules: {}, defaultDeadlineMs: 5, maxQueueSize: 0,
    });
    expect(batchingConfigOf(cfg)).toEqual({ maxBatchSize: 8 });
  });
});
