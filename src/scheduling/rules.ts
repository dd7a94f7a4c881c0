import type { ModelConfig, QueuePolicy } from '../core/model-config.js';
import type { BatchingConfig } from './policy.js';
import type { TimeoutAction } from './queue-policy.js';

/**
 * A model config's scheduling settings as the policies read them: plain data in
 * milliseconds. This is the only scheduling code that knows the config's (Triton's) field
 * names and units, so the simulator can build rules without a config file.
 */

/** One priority level's queue policy (Triton's ModelQueuePolicy). */
export interface LevelRules {
  /** How long a request may wait before its timeout action applies; 0: no timeout. */
  timeoutMs: number;
  timeoutAction: TimeoutAction;
  /** Whether a request may shorten (never lengthen) the timeout. */
  allowTimeoutOverride: boolean;
  /** Requests of this level that may wait at once; 0: no limit. */
  maxQueueSize: number;
}

export interface QueueRules {
  /** 0: priorities off: one queue under `defaultRules`, and a request's priority is ignored. */
  priorityLevels: number;
  /** Level of requests that give none; 1 when priorities are off. */
  defaultLevel: number;
  defaultRules: LevelRules;
  /** Levels with their own policy; the others follow `defaultRules`. */
  levelRules: Readonly<Record<number, LevelRules>>;
  /** Deadline of requests that bring none, ms after arrival; 0: none. */
  defaultDeadlineMs: number;
  /** Cap on all waiting requests of the model version, whatever their level (the server's limit); 0: none. */
  maxQueueSize: number;
}

export const NO_LIMITS: LevelRules = { timeoutMs: 0, timeoutAction: 'REJECT', allowTimeoutOverride: false, maxQueueSize: 0 };

export function rulesFor(rules: QueueRules, level: number): LevelRules {
  return rules.levelRules[level] ?? rules.defaultRules;
}

/**
 * Queue rules from a model's config. `maxQueueSize` is the server-wide cap per model version,
 * kept next to Triton's per-level max_queue_size so admission checks both in one place.
 */
export function queueRulesOf(config: ModelConfig, maxQueueSize = 0): QueueRules {
  const db = config.dynamic_batching;
  const levels = db?.priority_levels ?? 0;
  const levelRules: Record<number, LevelRules> = {};
  if (db && levels > 0) for (const [level, p] of Object.entries(db.priority_queue_policy)) levelRules[Number(level)] = levelRulesOf(p);
  return {
    priorityLevels: levels,
    defaultLevel: db && levels > 0 ? db.default_priority_level : 1,
    defaultRules: db ? levelRulesOf(db.default_queue_policy) : NO_LIMITS,
    levelRules,
    defaultDeadlineMs: (config.slo?.default_deadline_microseconds ?? 0) / 1000,
    maxQueueSize,
  };
}

function levelRulesOf(p: QueuePolicy): LevelRules {
  return {
    timeoutMs: p.default_timeout_microseconds / 1000,
    timeoutAction: p.timeout_action,
    allowTimeoutOverride: p.allow_timeout_override,
    maxQueueSize: p.max_queue_size,
  };
}

export function batchingConfigOf(config: ModelConfig): BatchingConfig {
  const db = config.dynamic_batching;
  if (!db) return { maxBatchSize: config.max_batch_size };
  return {
    maxBatchSize: config.max_batch_size,
    dynamic: {
      preferredBatchSizes: db.preferred_batch_size,
      maxQueueDelayMs: db.max_queue_delay_microseconds / 1000,
      preserveOrdering: db.preserve_ordering,
    },
  };
}
