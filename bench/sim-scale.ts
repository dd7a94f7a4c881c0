/**
 * Issue 6, scale: how long the simulator takes for a large cluster. 1,000 nodes and 1,000,000
 * requests (target: at most 60 s of wall time on this machine), Poisson arrivals over 20 models
 * with Zipf popularity, dynamic batching, power-of-two routing, no memory budget. The cost
 * model is written here by hand (illustrative figures, not a measured machine): wall time
 * depends on how many events the run has, not on where the latencies came from.
 *
 *   npm run bench:sim-scale                              full size, writes BENCHMARKS.md
 *   npm run bench:sim-scale -- --requests 100000 --nodes 100 --no-write   a short check
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Workload } from '../src/bench/workload.js';
import { workloadArrivals } from '../src/bench/workload.js';
import { router, type RouterName } from '../src/routing/router.js';
import type { ModelCost, NodeCosts } from '../src/sim/cost-model.js';
import { simulate } from '../src/sim/simulate.js';
import { markers, sectionHead, table, writeSection } from './lib/markdown.js';
import { ensureIssue6Block } from './sim-section.js';

const { values: a } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    nodes: { type: 'string', default: '1000' },
    router: { type: 'string', default: 'power-of-two' },
    seed: { type: 'string', default: '1' },
    'no-write': { type: 'boolean', default: false },
  },
});
const requests = Number(a.requests);
const nodes = Number(a.nodes);
const routerName = a.router as RouterName;
const full = requests >= 1_000_000 && nodes >= 1000;

// 20 models, 2 instances each, batching up to 8; a batch of b rows takes 4 + 0.5·b ms.
const models: ModelCost[] = Array.from({ length: 20 }, (_, i) => ({
  name: `model-${i}`, instances: 2, overheadMs: 0, loadMs: 500, footprintBytes: 256 * 2 ** 20,
  batching: { maxBatchSize: 8, dynamic: { preferredBatchSizes: [8], maxQueueDelayMs: 2, preserveOrdering: false } },
  latency: [1, 2, 4, 8].map((b) => ({ batchSize: b, ms: 4 + 0.5 * b, p10Ms: 3.8 + 0.5 * b, p90Ms: 4.6 + 0.5 * b, p99Ms: 6 + 0.5 * b })),
  idle: [{ afterMs: 5, ms: 4.8, p90Ms: 5.6, p99Ms: 8 }, { afterMs: 50, ms: 5.5, p90Ms: 6.5, p99Ms: 9 }],
}));
// Every part of the node model on (docs/simulator.md): an event loop, the wire, 8 cores with some other work.
const node: NodeCosts = {
  requestMs: 0.05, answerMs: 0.04, afterMs: 0.02,
  wire: { ms: 0.3, p10Ms: 0.2, p90Ms: 0.6, p99Ms: 2 }, cores: 8, background: 1,
};
// About 40% of the cluster's batch-1 capacity (2 instances × 1000 nodes / 4.5 ms ≈ 444,000/s is far more): 20/s per node.
const ratePerS = nodes * 20;
const w: Workload = {
  kind: 'open', process: { kind: 'poisson', ratePerS }, models: models.map((m) => m.name), popularity: { kind: 'zipf', s: 1.1 },
  durationMs: (requests / ratePerS) * 1000,
};

const load = os.loadavg();
const t0 = performance.now();
const r = simulate({
  models, arrivals: workloadArrivals(w, Number(a.seed)), nodes, router: router(routerName), seed: Number(a.seed), node,
  window: { startMs: 0, endMs: w.durationMs }, binMs: Math.max(100, Math.ceil(w.durationMs / 120 / 100) * 100),
});
const wallS = (performance.now() - t0) / 1000;
const loadAfter = os.loadavg();

const line = `${r.requests} requests on ${nodes} nodes (${routerName}): ${wallS.toFixed(1)} s wall, ${r.events} events, ` +
  `${(r.simulatedMs / 1000).toFixed(0)} s simulated; p50 ${r.stats.latencyMs?.p50.toFixed(2)} ms, p99 ${r.stats.latencyMs?.p99.toFixed(2)} ms; ` +
  `load average ${load[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after`;
console.log(line);

if (!a['no-write']) {
  ensureIssue6Block('BENCHMARKS.md');
  const command = `npm run bench:sim-scale -- --requests ${requests} --nodes ${nodes} --router ${routerName} --seed ${a.seed}`;
  writeSection('BENCHMARKS.md', 'issue6-scale', [
    ...sectionHead({
      title: 'Issue 6: simulator scale', date: new Date(), quick: !full, command, met: full ? wallS <= 60 : undefined,
      notes: [
        `Load average (1 min) ${load[0]!.toFixed(2)} before and ${loadAfter[0]!.toFixed(2)} after the run, on ${os.cpus().length} cores: other work on the machine slows the simulator down.`,
        'Workload: Poisson arrivals, 20 models with Zipf(1.1) popularity, 20 requests/s per node; cost model written by hand (bench/sim-scale.ts), dynamic batching up to 8, idle wake-ups, and every part of the node model (event loop, wire, 8 cores shared with other work).',
      ],
    }),
    ...table(['nodes', 'requests', 'events', 'simulated s', 'wall s', 'target', 'p50 ms', 'p99 ms'], [[
      String(nodes), String(r.requests), String(r.events), (r.simulatedMs / 1000).toFixed(0), wallS.toFixed(1), '≤ 60 s',
      r.stats.latencyMs?.p50.toFixed(2) ?? '–', r.stats.latencyMs?.p99.toFixed(2) ?? '–',
    ]]),
  ].join('\n'));
  console.log(`wrote ${markers('issue6-scale').start} … in BENCHMARKS.md`);
}
