/**
 * Triton's preserve_ordering: answers leave in the order their requests were admitted,
 * whatever order their batches finish in (instances run concurrently, and priorities and
 * deadlines reorder the queue). The caller tracks each admitted request, settles it when its
 * answer or error is ready, and sends the answers `settle` hands back, in that order.
 */
export class ResponseOrder {
  /** Admitted and not yet released, in admission order, from `head` on. */
  private order: number[] = [];
  private head = 0;
  private readonly settled = new Set<number>();
  private readonly tracked = new Set<number>();

  /** Call on admission, in admission order. Requests refused at admission are never tracked. */
  track(seq: number): void {
    this.order.push(seq);
    this.tracked.add(seq);
  }

  /** Marks `seq` answered; returns the requests whose answers may go out now, oldest first. An untracked seq goes out alone. */
  settle(seq: number): number[] {
    if (!this.tracked.has(seq)) return [seq];
    this.settled.add(seq);
    const out: number[] = [];
    while (this.head < this.order.length && this.settled.has(this.order[this.head]!)) {
      const next = this.order[this.head++]!;
      this.settled.delete(next);
      this.tracked.delete(next);
      out.push(next);
    }
    // Drop released entries now and then, so a long-lived queue does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Answers ready but held back behind an earlier request. */
  get held(): number {
    return this.settled.size;
  }

  /** Requests tracked and not yet released. */
  get outstanding(): number {
    return this.tracked.size;
  }
}
