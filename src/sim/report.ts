/**
 * A simulated run reported the way `shoal bench` reports a real one (the same JSON shape and
 * the same console table and HTML), plus what only a simulation can show cheaply: each node's
 * utilisation and memory over time.
 */
import { consoleReport } from '../bench/report-text.js';
import { htmlReport } from '../bench/report-html.js';
import type { BenchReport } from '../bench/runner.js';
import { escapeXml as esc, linePlot, PALETTE, type Series } from '../bench/svg.js';
import type { NodeSummary, SimulationResult } from './simulate.js';

export interface SimSettings {
  profile: string;
  hardware: string;
  nodes: number;
  router: string;
  memoryBudgetBytes: number | null;
  eviction: string;
  networkDelayMs: number;
  variation: boolean;
  /** Instances of all the profile's models on one node: what utilisation is a fraction of. */
  instancesPerNode: number;
}

export interface SimSection extends SimSettings {
  requests: number;
  events: number;
  simulatedS: number;
  wallS: number;
  cluster: { busyInstances: Spread; utilisation: Spread; peakMemoryBytes: Spread; loads: number; evictions: number };
  perNode: NodeSummary[];
  timeline: {
    binMs: number;
    /** Across nodes, per bin. */
    utilisation: { mean: number[]; min: number[]; max: number[] };
    memoryBytes: { mean: number[]; min: number[]; max: number[] };
    /** Per node, per bin, for clusters of up to NODE_SERIES nodes. */
    nodes?: Array<{ node: number; utilisation: number[]; memoryBytes: number[] }>;
  };
}

export type SimReport = Omit<BenchReport, 'tool'> & { tool: 'shoal simulate'; simulation: SimSection };

export interface Spread { mean: number; min: number; max: number }

const NODE_SERIES = 16;

const spread = (xs: readonly number[]): Spread => {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const x of xs) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
  }
  return xs.length ? { mean: sum / xs.length, min, max } : { mean: 0, min: 0, max: 0 };
};

function acrossNodes(perNode: number[][]): { mean: number[]; min: number[]; max: number[] } {
  const bins = perNode[0]?.length ?? 0;
  const out = { mean: [] as number[], min: [] as number[], max: [] as number[] };
  for (let i = 0; i < bins; i++) {
    const s = spread(perNode.map((n) => n[i] ?? 0));
    out.mean.push(s.mean);
    out.min.push(s.min);
    out.max.push(s.max);
  }
  return out;
}

export function simSection(s: SimSettings, r: SimulationResult, wallS: number): SimSection {
  const cap = Math.max(1, s.instancesPerNode);
  const utilisation = r.timeline.busyInstances.map((n) => n.map((b) => b / cap));
  return {
    ...s,
    requests: r.requests, events: r.events, simulatedS: r.simulatedMs / 1000, wallS,
    cluster: {
      busyInstances: spread(r.nodes.map((n) => n.busyInstances)),
      utilisation: spread(r.nodes.map((n) => n.busyInstances / cap)),
      peakMemoryBytes: spread(r.nodes.map((n) => n.peakMemoryBytes)),
      loads: r.nodes.reduce((a, n) => a + n.loads, 0),
      evictions: r.nodes.reduce((a, n) => a + n.evictions, 0),
    },
    perNode: r.nodes,
    timeline: {
      binMs: r.timeline.binMs,
      utilisation: acrossNodes(utilisation),
      memoryBytes: acrossNodes(r.timeline.memoryBytes),
      ...(s.nodes <= NODE_SERIES ? { nodes: r.nodes.map((n, i) => ({ node: n.node, utilisation: utilisation[i]!, memoryBytes: r.timeline.memoryBytes[i]! })) } : {}),
    },
  };
}

/** The report with bench's tool name, for bench's own renderers, which read only the shared fields. */
const asBench = (r: SimReport): BenchReport => ({ ...r, tool: 'shoal bench' });

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;

function header(r: SimReport): string {
  const s = r.simulation;
  return `shoal simulate: ${s.nodes} node${s.nodes === 1 ? '' : 's'}, ${s.router} routing, ${s.memoryBudgetBytes === null ? 'no memory budget' : `${mib(s.memoryBudgetBytes)} per node (${s.eviction})`}, ` +
    `network ${s.networkDelayMs} ms each way; profile ${s.profile}${s.hardware ? ` (${s.hardware})` : ''}; seed ${r.settings.seed}`;
}

export function simConsoleReport(r: SimReport): string {
  const s = r.simulation;
  // Bench's header lines name the server and each model's request size, which a simulation has not.
  const lines = consoleReport(asBench(r)).split('\n').filter((l) => !/^ {2}\S+: +\(0 B\/request\)$/.test(l));
  lines[0] = header(r);
  lines.push('', `utilisation per node: mean ${pct(s.cluster.utilisation.mean)}, min ${pct(s.cluster.utilisation.min)}, max ${pct(s.cluster.utilisation.max)} ` +
    `(busy instances ÷ ${s.instancesPerNode} instances a node holds with every model); peak memory per node up to ${mib(s.cluster.peakMemoryBytes.max)}; ` +
    `${s.cluster.loads} loads, ${s.cluster.evictions} evictions`);
  lines.push(`simulated ${s.requests} requests, ${s.events} events, ${s.simulatedS.toFixed(1)} s of cluster time in ${s.wallS.toFixed(2)} s`);
  return lines.join('\n');
}

function nodePlots(r: SimReport): string {
  const t = r.simulation.timeline;
  const binS = t.binMs / 1000;
  const x = (i: number): number => (i + 0.5) * binS;
  const band = (v: { mean: number[]; min: number[]; max: number[] }, scale: number): Series[] => [
    { name: 'max over nodes', points: v.max.map((y, i) => [x(i), y * scale]), color: PALETTE[1] },
    { name: 'mean', points: v.mean.map((y, i) => [x(i), y * scale]), color: PALETTE[0] },
    { name: 'min over nodes', points: v.min.map((y, i) => [x(i), y * scale]), color: PALETTE[2], dashed: true },
  ];
  const few = (t.nodes ?? []).slice(0, PALETTE.length);
  const util: Series[] = few.length > 1 && few.length <= 8
    ? few.map((n, k) => ({ name: `node ${n.node}`, points: n.utilisation.map((y, i) => [x(i), y * 100]), color: PALETTE[k % PALETTE.length]! }))
    : band(t.utilisation, 100);
  const mem: Series[] = few.length > 1 && few.length <= 8
    ? few.map((n, k) => ({ name: `node ${n.node}`, points: n.memoryBytes.map((y, i) => [x(i), y / 1024 / 1024]), color: PALETTE[k % PALETTE.length]! }))
    : band(t.memoryBytes, 1 / 1024 / 1024);
  return linePlot({ title: 'Node utilisation over time', xLabel: 's', yLabel: '% of instances busy', series: util, height: 260 })
    + linePlot({ title: 'Node memory over time (peak per bin)', xLabel: 's', yLabel: 'MiB', series: mem, height: 260 });
}

export function simHtmlReport(r: SimReport): string {
  const s = r.simulation;
  const section = `<h2>Cluster (simulated)</h2>
<p class="small">${esc(header(r))}</p>
<table><tr><th>nodes</th><th>utilisation mean</th><th>min</th><th>max</th><th>peak memory max</th><th>loads</th><th>evictions</th><th>requests</th><th>events</th><th>simulated s</th><th>wall s</th></tr>
<tr><td>${s.nodes}</td><td>${pct(s.cluster.utilisation.mean)}</td><td>${pct(s.cluster.utilisation.min)}</td><td>${pct(s.cluster.utilisation.max)}</td><td>${mib(s.cluster.peakMemoryBytes.max)}</td><td>${s.cluster.loads}</td><td>${s.cluster.evictions}</td><td>${s.requests}</td><td>${s.events}</td><td>${s.simulatedS.toFixed(1)}</td><td>${s.wallS.toFixed(2)}</td></tr></table>
<p class="small">Utilisation: busy instance-time ÷ (${s.instancesPerNode} instances, every model's, × time). Latencies include ${s.networkDelayMs} ms of network each way.</p>
${nodePlots(r)}`;
  return htmlReport(asBench(r))
    .replace('<title>shoal bench', '<title>shoal simulate')
    .replace('<h1>shoal bench</h1>', '<h1>shoal simulate</h1>')
    // Bench's settings line names connections and the tensor encoding, which a simulation has not.
    .replace('; 0 connections;', ';').replace('; JSON tensors</p>', '</p>')
    .replace('</body>', `${section}\n</body>`);
}
