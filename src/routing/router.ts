import type { Rng } from '../bench/random.js';
import { ModelAffinity } from './affinity.js';

/**
 * Which node serves a request. Routers are policies over plain data: a view of the nodes'
 * loads and residency that the caller keeps, and a seeded random draw the caller hands in.
 * They read no clock and do no I/O, so the simulator and a cluster gateway run the same code.
 */

/** What a router sees of the cluster. Nodes are numbered 0 … size-1. */
export interface ClusterView {
  readonly size: number;
  /** Requests each node holds (on their way, queued, running or waiting for a load), by node. */
  readonly outstanding: ArrayLike<number>;
  /** Sum of `outstanding`, kept by the caller so that a router need not add it up per request. */
  readonly totalOutstanding: number;
  /** Whether the model is loaded or loading on the node. */
  hasModel(node: number, model: string): boolean;
}

export interface Router {
  readonly name: RouterName;
  route(model: string, view: ClusterView, rng: Rng): number;
}

export const ROUTERS = ['round-robin', 'least-outstanding', 'power-of-two', 'model-affinity'] as const;
export type RouterName = (typeof ROUTERS)[number];

export function isRouterName(name: string): name is RouterName {
  return (ROUTERS as readonly string[]).includes(name);
}

export function router(name: RouterName): Router {
  switch (name) {
    case 'round-robin':
      return new RoundRobin();
    case 'least-outstanding':
      return leastOutstanding;
    case 'power-of-two':
      return powerOfTwo;
    case 'model-affinity':
      return new ModelAffinity();
  }
}

/** Each node in turn, whatever its load. */
export class RoundRobin implements Router {
  readonly name = 'round-robin';
  private next = 0;
  route(_model: string, view: ClusterView): number {
    const node = this.next % view.size;
    this.next = node + 1;
    return node;
  }
}

/**
 * The node with the fewest outstanding requests; among equals one that has the model, so an
 * idle cluster does not load a model on a new node for every request. The scan starts at a
 * random node so that ties do not all fall to node 0.
 */
export const leastOutstanding: Router = {
  name: 'least-outstanding',
  route(model, view, rng) {
    const n = view.size;
    const start = Math.floor(rng() * n);
    let best = start;
    let bestLoad = view.outstanding[start]!;
    let bestHas: boolean | undefined;
    for (let k = 1; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n;
      const load = view.outstanding[i]!;
      if (load > bestLoad) continue;
      if (load === bestLoad) {
        bestHas ??= view.hasModel(best, model);
        if (bestHas || !view.hasModel(i, model)) continue;
        bestHas = true;
      } else {
        bestHas = undefined;
      }
      best = i;
      bestLoad = load;
    }
    return best;
  },
};

/**
 * Power of two choices (Mitzenmacher): two distinct nodes drawn at random, the one with fewer
 * outstanding requests; on a tie the one that has the model. Nearly as balanced as a full scan,
 * at a cost that does not grow with the cluster.
 */
export const powerOfTwo: Router = {
  name: 'power-of-two',
  route(model, view, rng) {
    const n = view.size;
    const a = Math.floor(rng() * n);
    if (n === 1) return a;
    let b = Math.floor(rng() * (n - 1));
    if (b >= a) b++;
    const la = view.outstanding[a]!;
    const lb = view.outstanding[b]!;
    if (la !== lb) return la < lb ? a : b;
    return !view.hasModel(a, model) && view.hasModel(b, model) ? b : a;
  },
};
