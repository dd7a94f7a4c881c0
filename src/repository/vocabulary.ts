import { DATATYPES, isDataType, type DataType } from '../core/datatype.js';
import type { GraphOptimizationLevel } from '../core/model-config.js';

/**
 * Where Triton's config vocabulary and shoal's differ: datatype names and the onnxruntime
 * backend's graph optimisation levels. Parsing and rendering both read these tables, so a
 * rendered config always parses back to the same values.
 */

/** Triton's name for each datatype; BYTES is TYPE_STRING in model_config.proto. */
const TRITON_NAME: Record<DataType, string> = Object.fromEntries(
  DATATYPES.map((dt) => [dt, dt === 'BYTES' ? 'TYPE_STRING' : `TYPE_${dt}`]),
) as Record<DataType, string>;

const FROM_TRITON = new Map<string, DataType>(DATATYPES.map((dt) => [TRITON_NAME[dt], dt]));

export const TRITON_DATATYPE_NAMES: readonly string[] = DATATYPES.map((dt) => TRITON_NAME[dt]);

export function tritonDataType(dt: DataType): string {
  return TRITON_NAME[dt];
}

/** A datatype as a config file may spell it: Triton's `TYPE_FP32` or KServe's `FP32`. */
export function parseConfigDataType(s: string): DataType | undefined {
  return FROM_TRITON.get(s) ?? (isDataType(s) ? s : undefined);
}

/**
 * Triton's onnxruntime backend reads `optimization.graph.level` as an integer with its own
 * numbering: 0 (or no level) enables everything, -1 basic only, 1 up to extended, 2 none.
 */
const TRITON_LEVEL: Record<GraphOptimizationLevel, number> = { all: 0, basic: -1, extended: 1, disabled: 2 };

export const GRAPH_LEVEL_NAMES = Object.keys(TRITON_LEVEL) as GraphOptimizationLevel[];

export function tritonGraphLevel(level: GraphOptimizationLevel): number {
  return TRITON_LEVEL[level];
}

/** Triton's number, or (a shoal convenience) the level's name. */
export function parseGraphLevel(v: unknown): GraphOptimizationLevel | undefined {
  if (typeof v === 'string' && (GRAPH_LEVEL_NAMES as string[]).includes(v)) return v as GraphOptimizationLevel;
  const n = typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : v;
  return GRAPH_LEVEL_NAMES.find((name) => TRITON_LEVEL[name] === n);
}

/** Triton's onnxruntime backend takes execution_mode as "0" (sequential) or "1" (parallel). */
export function parseExecutionMode(s: string): 'sequential' | 'parallel' | undefined {
  if (s === '0' || s === 'sequential') return 'sequential';
  if (s === '1' || s === 'parallel') return 'parallel';
  return undefined;
}

export function tritonExecutionMode(mode: 'sequential' | 'parallel'): string {
  return mode === 'parallel' ? '1' : '0';
}

export const TIMEOUT_ACTIONS = ['REJECT', 'DELAY'] as const;

/** Triton's JSON writes the enum's name; proto3 JSON readers also take its number (REJECT = 0, DELAY = 1). */
export function parseTimeoutAction(v: unknown): 'REJECT' | 'DELAY' | undefined {
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  if (n === 'REJECT' || n === 0) return 'REJECT';
  if (n === 'DELAY' || n === 1) return 'DELAY';
  return undefined;
}
