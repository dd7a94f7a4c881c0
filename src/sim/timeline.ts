/**
 * Per-node utilisation and memory over time, in the same bins as the recorder's timeline:
 * busy instance-time per bin (from each batch's start and end) and the most memory the
 * node's resident models held during the bin.
 */
export class NodeTimeline {
  private readonly busyMs: number[][];
  private readonly memMax: number[][];
  private readonly memNow: number[];

  constructor(nodes: number, readonly binMs: number) {
    this.busyMs = Array.from({ length: nodes }, () => []);
    this.memMax = Array.from({ length: nodes }, () => []);
    this.memNow = Array.from({ length: nodes }, () => 0);
  }

  /** One instance of `node` was busy from `from` to `to`. */
  busy(node: number, from: number, to: number): void {
    const bins = this.busyMs[node]!;
    let t = from;
    while (t < to) {
      const i = Math.floor(t / this.binMs);
      const end = Math.min(to, (i + 1) * this.binMs);
      while (bins.length <= i) bins.push(0);
      bins[i]! += end - t;
      t = end;
    }
  }

  memory(node: number, at: number, bytes: number): void {
    this.fillMemory(node, Math.floor(at / this.binMs));
    const bins = this.memMax[node]!;
    const i = bins.length - 1;
    bins[i] = Math.max(bins[i]!, bytes);
    this.memNow[node] = bytes;
  }

  /** Bins up to and including `last` carry the level memory was at when they began. */
  private fillMemory(node: number, last: number): void {
    const bins = this.memMax[node]!;
    while (bins.length <= last) bins.push(this.memNow[node]!);
  }

  /** Per node, per bin: mean busy instances and peak memory bytes, over `bins` bins. */
  series(bins: number): { busyInstances: number[][]; memoryBytes: number[][] } {
    const busyInstances = this.busyMs.map((b) => Array.from({ length: bins }, (_, i) => (b[i] ?? 0) / this.binMs));
    const memoryBytes = this.memMax.map((m, node) => {
      this.fillMemory(node, bins - 1);
      return m.slice(0, bins);
    });
    return { busyInstances, memoryBytes };
  }
}
