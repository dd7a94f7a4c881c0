/**
 * The simulator's future events: a binary min-heap ordered by time, then by the order they
 * were scheduled, so equal times pop first-in first-out and a run is the same for a seed.
 * Fields live in parallel typed arrays rather than one object per event: a million-request
 * run schedules millions of events, and this keeps the hot loop free of allocation.
 */
export class EventQueue {
  private time = new Float64Array(1024);
  private order = new Float64Array(1024);
  private kinds = new Uint8Array(1024);
  private as = new Int32Array(1024);
  private bs = new Int32Array(1024);
  private cs = new Int32Array(1024);
  private n = 0;
  private scheduled = 0;

  /** The event popped last. */
  t = 0;
  kind = 0;
  a = 0;
  b = 0;
  c = 0;

  get size(): number {
    return this.n;
  }

  push(t: number, kind: number, a: number, b: number, c: number): void {
    if (this.n === this.time.length) this.grow();
    let i = this.n++;
    const seq = this.scheduled++;
    // Sift up: move parents down until the slot for the new event is found.
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = this.time[p]!;
      if (pt < t || (pt === t && this.order[p]! < seq)) break;
      this.move(p, i);
      i = p;
    }
    this.set(i, t, seq, kind, a, b, c);
  }

  /** Takes the earliest event into t, kind, a, b, c; false when there is none. */
  pop(): boolean {
    if (this.n === 0) return false;
    this.t = this.time[0]!;
    this.kind = this.kinds[0]!;
    this.a = this.as[0]!;
    this.b = this.bs[0]!;
    this.c = this.cs[0]!;
    const last = --this.n;
    if (last === 0) return true;
    const t = this.time[last]!;
    const seq = this.order[last]!;
    const kind = this.kinds[last]!;
    const a = this.as[last]!;
    const b = this.bs[last]!;
    const c = this.cs[last]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      let m = l;
      if (r < last && (this.time[r]! < this.time[l]! || (this.time[r] === this.time[l] && this.order[r]! < this.order[l]!))) m = r;
      const mt = this.time[m]!;
      if (t < mt || (t === mt && seq < this.order[m]!)) break;
      this.move(m, i);
      i = m;
    }
    this.set(i, t, seq, kind, a, b, c);
    return true;
  }

  /** Time of the earliest event, Infinity when none. */
  peekTime(): number {
    return this.n === 0 ? Infinity : this.time[0]!;
  }

  private move(from: number, to: number): void {
    this.time[to] = this.time[from]!;
    this.order[to] = this.order[from]!;
    this.kinds[to] = this.kinds[from]!;
    this.as[to] = this.as[from]!;
    this.bs[to] = this.bs[from]!;
    this.cs[to] = this.cs[from]!;
  }

  private set(i: number, t: number, seq: number, kind: number, a: number, b: number, c: number): void {
    this.time[i] = t;
    this.order[i] = seq;
    this.kinds[i] = kind;
    this.as[i] = a;
    this.bs[i] = b;
    this.cs[i] = c;
  }

  private grow(): void {
    const size = this.time.length * 2;
    const g = <T extends Float64Array | Uint8Array | Int32Array>(old: T, make: new (n: number) => T): T => {
      const next = new make(size);
      next.set(old as never);
      return next;
    };
    this.time = g(this.time, Float64Array);
    this.order = g(this.order, Float64Array);
    this.kinds = g(this.kinds, Uint8Array);
    this.as = g(this.as, Int32Array);
    this.bs = g(this.bs, Int32Array);
    this.cs = g(this.cs, Int32Array);
  }
}
