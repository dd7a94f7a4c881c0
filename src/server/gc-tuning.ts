/**
 * How far V8 lets the JavaScript heap grow past what survived the last full collection before it
 * starts the next one, for a `shoal serve` process.
 *
 * Why: V8 counts the memory of ArrayBuffers (every socket read, every request body) against the
 * heap's limit, and by default sizes that limit from the small heap a server keeps live (about
 * 18 MB here). Serving 393 KB CNN requests at about 100 a second, the event loop then ran a full
 * collection every 300 ms, each finding about a megabyte of garbage. With the limit at three
 * times the live heap, in three alternating pairs of 10 s runs (`node --trace-gc dist/src/cli.js
 * serve` on bench/results/issue3-batching-on, after a 3 s warm-up, then `shoal bench --model cnn
 * --binary --batch 32 --concurrency 4 --duration 10 --warmup 0`; without it meaning
 * `node --heap-growing-percent=0`): 8 full collections per run instead of 32 to 40 (most of the
 * 8 in the session threads' own small heaps), the event loop's CPU 1.64 to 1.78 ms per request
 * instead of 1.91 to 2.01, and 108 to 114 requests a second instead of 101 to 106. The heap's
 * committed size stayed at 53 MB.
 *
 * Anyone who gives node the flag themselves (`node --heap-growing-percent=N bin/shoal.js serve`;
 * node refuses it in NODE_OPTIONS) keeps theirs; 0 there is V8's own default.
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 200;
const FLAG = '--heap-growing-percent';

/** Whether node was started with its own heap growth setting (V8 takes `_` for `-` in flag names). */
export function heapGrowthGiven(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => {
    const name = a.split('=')[0]!.replace(/_/g, '-');
    return name === FLAG;
  });
}

/** Sets the server's heap growth unless node was given its own. Returns the flag set, if any. */
export function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv): string | undefined {
  if (heapGrowthGiven(execArgv)) return undefined;
  const flag = `${FLAG}=${HEAP_GROWING_PERCENT}`;
  v8.setFlagsFromString(flag);
  return flag;
}
