/**
 * Issue 2's section: shoal's round trip against the bare node:http server, and its event-loop
 * lag under CNN load.
 */
import path from 'node:path';
import { CNN_MODEL, prepareBenchRepository } from '../lib/bench-models.js';
import { repoRoot, resultsDir, startBare, startNaive, startShoal, type RunningServer } from '../lib/process.js';
import type { SectionContext } from '../section.js';
import { cnnLag, roundTrip, type LagResult } from './measure.js';
import { issue2Section } from './report.js';

export async function runIssue2(ctx: SectionContext): Promise<string> {
  const models = path.join(resultsDir(), 'models');
  await prepareBenchRepository(models);
  const servers: RunningServer[] = [];
  try {
    const shoal = await startShoal(models);
    servers.push(shoal);
    const bare = await startBare();
    servers.push(bare);
    const naive = await startNaive(models);
    servers.push(naive);
    ctx.say(`shoal at ${shoal.url} (log: ${path.relative(repoRoot(), shoal.logFile)}), bare baseline at ${bare.url}, naive server at ${naive.url}`);
    const rounds = ctx.quick ? { rounds: 2, roundS: 0.5, warmupS: 0.2 } : { rounds: 6, roundS: 1.5, warmupS: 0.3 };
    ctx.say(`round trip: ${rounds.rounds} rounds × ${rounds.roundS} s per target…`);
    const rt = await roundTrip({ shoal: shoal.url, bare: bare.url, naive: naive.url }, rounds);
    const lag: LagResult[] = [];
    for (const batch of [32, 1]) {
      const o = { model: CNN_MODEL, batch, connections: 4, durationS: ctx.quick ? 1.5 : 10 };
      ctx.say(`event-loop lag: ${o.model} batch ${batch}, ${o.connections} clients, ${o.durationS} s…`);
      lag.push(await cnnLag(shoal.url, o));
    }
    return issue2Section({ date: new Date(), quick: ctx.quick, command: ctx.command, roundTrip: rt, lag });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
