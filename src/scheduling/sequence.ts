import type { ErrorKind } from '../core/errors.js';

/**
 * The bookkeeping of Triton-style sequences as plain data and a `now` the caller passes in:
 * which sequences are live, which request may start or continue one, when an idle one
 * expires, and which waiting requests may run. No timers and no tensors: the live
 * SequenceScheduler holds the state tensors and arms the timers; the simulator can drive
 * the same class with a virtual clock.
 */

/** Triton's correlation id: a non-zero uint64 or a string. 5 and "5" are different sequences. */
export type SequenceId = number | string;

/** What a request says about its sequence (the `sequence_*` request parameters). */
export interface SequenceControl {
  id: SequenceId;
  start: boolean;
  end: boolean;
}

export interface SequenceLimits {
  /** Live sequences at most; a start beyond it is refused as overload. */
  maxSequences: number;
  /** A live sequence with nothing waiting or running is freed this long after its last request arrived or was answered. */
  idleMs: number;
  /** Freed ids remembered, so that a late request hears "finished" or "expired" rather than "unknown". */
  remembered?: number;
}

export type SequenceRefusalReason =
  | 'sequence_unknown' | 'sequence_finished' | 'sequence_expired' | 'sequence_live' | 'sequence_ending' | 'sequence_limit';

export interface SequenceRefusal {
  kind: Extract<ErrorKind, 'invalid_argument' | 'overloaded'>;
  reason: SequenceRefusalReason;
  message: string;
}

interface Live {
  /** Requests admitted and not yet answered. */
  pending: number;
  /** Its end request has been admitted: nothing may follow. */
  ending: boolean;
  /** Clock time of its last arrival or answer. */
  lastActive: number;
}

const DEFAULT_REMEMBERED = 4096;

export function describeSequence(id: SequenceId): string {
  return typeof id === 'number' ? `sequence ${id}` : `sequence ${JSON.stringify(id)}`;
}

export class SequenceBook {
  private readonly live = new Map<SequenceId, Live>();
  /** Insertion-ordered, so the oldest memory goes first when it is full. */
  private readonly gone = new Map<SequenceId, 'finished' | 'expired'>();

  constructor(private readonly limits: SequenceLimits) {}

  get liveCount(): number {
    return this.live.size;
  }

  isLive(id: SequenceId): boolean {
    return this.live.has(id);
  }

  /**
   * A request of a sequence arrives at `now`. Returns why it is refused, or undefined: then it
   * counts as pending (its sequence cannot expire) until `settle`. Call `expire(now)` first, so
   * a sequence idle past its limit is refused as expired however late the timer fired.
   */
  arrive(c: SequenceControl, now: number): SequenceRefusal | undefined {
    const name = describeSequence(c.id);
    let s = this.live.get(c.id);
    if (c.start) {
      if (s) {
        return refusal('invalid_argument', 'sequence_live', `${name} is already live; end it (sequence_end) before starting it again`);
      }
      if (this.live.size >= this.limits.maxSequences) {
        return refusal('overloaded', 'sequence_limit', `${name} cannot start: ${this.live.size} sequences are live, the most this model holds (max_candidate_sequences)`);
      }
      s = { pending: 0, ending: false, lastActive: now };
      this.live.set(c.id, s);
      this.gone.delete(c.id);
    } else if (!s) {
      const why = this.gone.get(c.id);
      if (why === 'finished') return refusal('invalid_argument', 'sequence_finished', `${name} has finished (its sequence_end request came earlier); start it again with sequence_start`);
      if (why === 'expired') return refusal('invalid_argument', 'sequence_expired', `${name} expired after ${this.limits.idleMs} ms without a request (max_sequence_idle_microseconds); start it again with sequence_start`);
      return refusal('invalid_argument', 'sequence_unknown', `${name} is unknown: its first request must carry sequence_start: true`);
    } else if (s.ending) {
      return refusal('invalid_argument', 'sequence_ending', `${name} is ending: a request with sequence_end was already sent`);
    }
    s.pending++;
    s.lastActive = now;
    if (c.end) s.ending = true;
    return undefined;
  }

  /** A request `arrive` admitted has been answered, successfully or not. Its end frees the sequence either way. Returns whether it was freed. */
  settle(c: SequenceControl, now: number): boolean {
    const s = this.live.get(c.id);
    if (!s) return false;
    s.pending--;
    s.lastActive = now;
    if (!c.end) return false;
    this.free(c.id, 'finished');
    return true;
  }

  /** Frees the sequences idle for the limit by `now`; returns their ids. */
  expire(now: number): SequenceId[] {
    const out: SequenceId[] = [];
    for (const [id, s] of this.live) {
      if (s.pending === 0 && now - s.lastActive >= this.limits.idleMs) out.push(id);
    }
    for (const id of out) this.free(id, 'expired');
    return out;
  }

  /** When the next idle sequence expires, if one is idle now. */
  nextExpiry(): number | undefined {
    let next = Infinity;
    for (const s of this.live.values()) if (s.pending === 0) next = Math.min(next, s.lastActive + this.limits.idleMs);
    return next === Infinity ? undefined : next;
  }

  /** Forgets every live sequence (the model is unloaded). */
  clear(): void {
    this.live.clear();
  }

  private free(id: SequenceId, why: 'finished' | 'expired'): void {
    this.live.delete(id);
    this.gone.set(id, why);
    const cap = this.limits.remembered ?? DEFAULT_REMEMBERED;
    for (const oldest of this.gone.keys()) {
      if (this.gone.size <= cap) break;
      this.gone.delete(oldest);
    }
  }
}

function refusal(kind: SequenceRefusal['kind'], reason: SequenceRefusalReason, message: string): SequenceRefusal {
  return { kind, reason, message };
}

/**
 * The waiting requests that may run now, in queue order: per sequence the oldest one, unless
 * that sequence already has a request running (its state is not there yet). So a batch never
 * holds two requests of one sequence, and a sequence's requests run in the order they came.
 */
export function runnable<T extends { sequence: SequenceId }>(queue: readonly T[], running: ReadonlySet<SequenceId>): T[] {
  const seen = new Set<SequenceId>();
  const out: T[] = [];
  for (const r of queue) {
    if (seen.has(r.sequence)) continue;
    seen.add(r.sequence);
    if (!running.has(r.sequence)) out.push(r);
  }
  return out;
}
