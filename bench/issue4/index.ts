/**
 * Issue 4's section: the standard comparison of shoal with each baseline, and the generator's
 * ceiling, in one run against servers started here.
 */
import path from 'node:path';
import { prepareBenchRepository } from '../lib/bench-models.js';
import { resultsDir, startBare, startNaive, startShoal, type RunningServer } from '../lib/process.js';
import type { SectionContext } from '../section.js';
import { COMPARED_MODELS, compareModel, type ModelComparison } from './compare.js';
import { ENGINE_MODELS, engineCeiling, shoalIntraOpThreads } from './engine.js';
import { generatorCeiling } from './generator-ceiling.js';
import { issue4Section, type Issue4Report } from './report.js';

export async function runIssue4(ctx: SectionContext): Promise<string> {
  const models = path.join(resultsDir(), 'models');
  await prepareBenchRepository(models);
  const pointS = ctx.quick ? 0.5 : 2;
  const warmupS = ctx.quick ? 0.2 : 0.5;
  const report: Issue4Report = { date: new Date(), quick: ctx.quick, command: ctx.command, pointS, warmupS, threads: shoalIntraOpThreads(), comparisons: [], engine: [] };
  const servers: RunningServer[] = [];
  try {
    const [shoal, naive, bare] = [await startShoal(models), await startNaive(models), await startBare()];
    servers.push(shoal, naive, bare);
    ctx.say(`shoal at ${shoal.url}, naive at ${naive.url}, bare at ${bare.url}`);
    const urls = { shoal: shoal.url, naive: naive.url, bare: bare.url };
    for (const m of COMPARED_MODELS) {
      ctx.say(`compare: ${m.model}…`);
      const c: ModelComparison = await compareModel(urls, m, { pointS, warmupS });
      report.comparisons.push(c);
    }
    for (const m of ENGINE_MODELS) {
      ctx.say(`engine ceiling: ${m.model} at batch ${m.batches.join(', ')}…`);
      report.engine.push({ model: m.model, ...(m.dim !== undefined ? { dim: m.dim } : {}), rows: await engineCeiling(shoal.url, models, m, { pointS, warmupS }) });
    }
    ctx.say('generator ceiling: autocannon, then shoal bench, against the bare server…');
    try {
      report.ceiling = await generatorCeiling(bare.url, { seconds: ctx.quick ? 1 : 5, connections: 32, warmupS });
    } catch (err) {
      report.ceilingError = (err as Error).message;
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  return issue4Section(report);
}
