import type { ClusterView, Router } from './router.js';

/**
 * Model affinity: consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam,
 * 2018). Each model hashes to a point on a ring of virtual nodes and goes to the first node
 * after it, so a model's requests meet on the node that already holds it and a node joining
 * or leaving moves only its share of models. A node already holding more than `loadFactor`
 * times the mean load is passed over for the next one on the ring, so a hot model spills
 * onto a few neighbours instead of drowning one node.
 */
export class ModelAffinity implements Router {
  readonly name = 'model-affinity';
  private ring: { points: Uint32Array; nodes: Int32Array } | undefined;
  private ringSize = -1;
  private readonly starts = new Map<string, number>();

  constructor(private readonly loadFactor = 1.25, private readonly pointsPerNode = 64) {
    if (!(loadFactor >= 1)) throw new RangeError(`the load factor must be ≥ 1, got ${loadFactor}`);
  }

  route(model: string, view: ClusterView): number {
    const ring = this.ringFor(view.size);
    let at = this.starts.get(model);
    if (at === undefined) {
      at = successor(ring.points, fnv1a(model));
      this.starts.set(model, at);
    }
    // Counting the newcomer, no node may hold more than loadFactor × the mean; some node always qualifies.
    const bound = Math.ceil((this.loadFactor * (view.totalOutstanding + 1)) / view.size);
    const len = ring.nodes.length;
    for (let k = 0; k < len; k++) {
      const node = ring.nodes[(at + k) % len]!;
      if (view.outstanding[node]! < bound) return node;
    }
    return ring.nodes[at]!;
  }

  /** Node ids in ring order (for tests and reports): the nodes a model's requests try, first to last. */
  preference(model: string, size: number): number[] {
    const ring = this.ringFor(size);
    const at = successor(ring.points, fnv1a(model));
    const seen = new Set<number>();
    for (let k = 0; k < ring.nodes.length; k++) seen.add(ring.nodes[(at + k) % ring.nodes.length]!);
    return [...seen];
  }

  private ringFor(size: number): { points: Uint32Array; nodes: Int32Array } {
    if (this.ring && this.ringSize === size) return this.ring;
    const entries: Array<[number, number]> = [];
    for (let node = 0; node < size; node++) {
      for (let v = 0; v < this.pointsPerNode; v++) entries.push([fnv1a(`node-${node}#${v}`), node]);
    }
    entries.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    this.ring = { points: Uint32Array.from(entries, (e) => e[0]), nodes: Int32Array.from(entries, (e) => e[1]) };
    this.ringSize = size;
    this.starts.clear();
    return this.ring;
  }
}

/** Index of the first point at or after `h`, wrapping to 0. */
function successor(points: Uint32Array, h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

/** FNV-1a, 32 bits, with a final avalanche so that similar names spread over the ring. */
export function fnv1a(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
