/**
 * The host-memory tier between disk and a live session: model file bytes of recently evicted or
 * unloaded models, least recently used first out, within its own byte budget. A reload takes
 * the bytes from here and hands them to the backend, skipping the disk. Keys are model file
 * paths the repository scan produced, never names from requests.
 */
export class HostCache {
  /** Insertion order is recency order: a Map iterates oldest first. */
  private readonly entries = new Map<string, Uint8Array>();
  private used = 0;

  constructor(readonly budgetBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Removes and returns the bytes: a model that is live again does not need them cached. */
  take(key: string): Uint8Array | undefined {
    const b = this.entries.get(key);
    if (b) this.drop(key, b);
    return b;
  }

  /** Keeps `bytes` as the most recent entry, evicting the oldest until they fit; bytes larger than the budget are not kept. */
  put(key: string, bytes: Uint8Array): boolean {
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    if (bytes.byteLength > this.budgetBytes) return false;
    for (const [k, b] of this.entries) {
      if (this.used + bytes.byteLength <= this.budgetBytes) break;
      this.drop(k, b);
    }
    this.entries.set(key, bytes);
    this.used += bytes.byteLength;
    return true;
  }

  delete(key: string): void {
    const b = this.entries.get(key);
    if (b) this.drop(key, b);
  }

  private drop(key: string, b: Uint8Array): void {
    this.entries.delete(key);
    this.used -= b.byteLength;
  }
}
