/**
 * Plays a workload against the server: open loop (send at the intended times whatever the
 * server is doing) or closed loop (N clients, each sending when its last answer is in).
 */
import type { Pool } from 'undici';
import { substream } from './random.js';
import type { Recorder } from './recorder.js';
import { sendInfer, type Outcome, type PreparedModel } from './target.js';
import { modelPicker, type Arrival, type Popularity } from './workload.js';

export interface LoadContext {
  pool: Pool;
  models: Map<string, PreparedModel>;
  recorder: Recorder;
  /** ms since the point's time zero. */
  now: () => number;
}

/** Hands out each model's request bodies in turn. */
function bodies(models: Map<string, PreparedModel>): (model: string) => { m: PreparedModel; i: number } {
  const turn = new Map<string, number>();
  return (model) => {
    const m = models.get(model);
    if (!m) throw new Error(`no prepared requests for model '${model}'`);
    const i = turn.get(model) ?? 0;
    turn.set(model, (i + 1) % m.requests.length);
    return { m, i };
  };
}

/**
 * Fires every arrival at its time. Timers wake the sender for the next due arrival, and each
 * wake sends everything already due, so a late wake costs lateness (which is recorded) but
 * never drops or spreads out requests.
 */
export function openLoop(arrivals: Iterator<Arrival>, ctx: LoadContext): Promise<void> {
  const { recorder, now } = ctx;
  const next = bodies(ctx.models);
  let pending = 0;
  let scheduleDone = false;
  return new Promise<void>((resolve, reject) => {
    const finishIfDone = (): void => {
      if (scheduleDone && pending === 0) resolve();
    };
    const fire = (a: Arrival): void => {
      const { m, i } = next(a.model);
      recorder.onSend(a.atMs, now());
      pending++;
      void sendInfer(ctx.pool, m.path, m.requests[i]!).then((outcome) => {
        recorder.onDone({ model: a.model, atMs: a.atMs, doneMs: now(), outcome, ...(a.deadlineMs !== undefined ? { deadlineMs: a.deadlineMs } : {}) });
        pending--;
        finishIfDone();
      });
    };
    let due = arrivals.next();
    const tick = (): void => {
      try {
        while (!due.done && due.value.atMs <= now()) {
          fire(due.value);
          due = arrivals.next();
        }
        if (due.done) {
          scheduleDone = true;
          finishIfDone();
          return;
        }
        setTimeout(tick, Math.max(1, due.value.atMs - now()));
      } catch (err) {
        reject(err as Error);
      }
    };
    tick();
  });
}

const NETWORK_BACKOFF_MS = 10;

/** `concurrency` clients back to back until `endMs`; each request's latency is its round trip. */
export async function closedLoop(
  c: { concurrency: number; models: string[]; popularity: Popularity; endMs: number; seed: number; deadlineMs?: number },
  ctx: LoadContext,
): Promise<void> {
  const { recorder, now } = ctx;
  const next = bodies(ctx.models);
  const pick = modelPicker(c.models, c.popularity);
  const choice = substream(c.seed, 'model');
  const client = async (): Promise<void> => {
    while (now() < c.endMs) {
      const model = pick(choice);
      const { m, i } = next(model);
      const atMs = now();
      recorder.onSend(atMs, atMs);
      const outcome: Outcome = await sendInfer(ctx.pool, m.path, m.requests[i]!);
      recorder.onDone({ model, atMs, doneMs: now(), outcome, ...(c.deadlineMs !== undefined ? { deadlineMs: c.deadlineMs } : {}) });
      // A refused connection fails in microseconds; without a pause the loop would only count errors.
      if (!outcome.ok && !outcome.kind.startsWith('HTTP')) await new Promise((r) => setTimeout(r, NETWORK_BACKOFF_MS));
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, client));
}
