/**
 * Issue 3's section, against two shoal servers from the same build: dynamic batching off and on.
 */
import path from 'node:path';
import { resultsDir, serverCpus, startBareRefuser, startShoal, type RunningServer } from '../lib/process.js';
import type { SectionContext } from '../section.js';
import { endpoint, fetchMaxBatchSize } from '../../src/bench/target.js';
import { BATCHING_TARGET, searchRate, type SearchSettings } from './batching.js';
import { cnnCeiling, ENGINE_TARGET } from './engine.js';
import { batchingCeiling, engineCeiling, overloadBound } from './http-cost.js';
import { bestGoodputPoint, OVERLOAD, overload, type OverloadModel } from './overload.js';
import { issue3Section, type Issue3Report } from './report.js';
import { PER_CORE, prepareIssue3Repository } from './repos.js';

export const BATCHING_MODELS: ReadonlyArray<{ model: string; dim?: number }> = [{ model: 'mlp' }, { model: 'text_encoder', dim: 32 }];
/**
 * Heavy enough per request (4 sequences of 128 tokens) that 5× the server's capacity is a rate
 * the generator can still send on schedule from the same 2-core machine.
 */
export const OVERLOAD_MODEL: OverloadModel = { model: 'text_encoder', batch: 4, dim: 128 };
export const FULL_OVERLOAD_S = 60;

export async function runIssue3(ctx: SectionContext): Promise<string> {
  const repos = { off: path.join(resultsDir(), 'issue3-batching-off'), on: path.join(resultsDir(), 'issue3-batching-on'), overload: path.join(resultsDir(), 'issue3-overload') };
  await prepareIssue3Repository(repos.off, false);
  await prepareIssue3Repository(repos.on, true);
  await prepareIssue3Repository(repos.overload, true, PER_CORE.overload);
  const pointS = ctx.quick ? 1 : 3;
  const warmupS = ctx.quick ? 0.3 : 1;
  const search: SearchSettings = { pointS, warmupS, maxTrials: ctx.quick ? 2 : 9, hintS: ctx.quick ? 0.5 : 2 };
  const report: Issue3Report = { date: new Date(), quick: ctx.quick, command: ctx.command, pointS, warmupS, batching: [], fullOverloadS: FULL_OVERLOAD_S };
  const servers: RunningServer[] = [];
  // The ceilings divide the machine's cores between the server and the generator; with the
  // servers on CPUs of their own (SHOAL_BENCH_SERVER_CPUS) they share none, and the sums do not apply.
  const shared = serverCpus() === undefined;
  try {
    const off = await startShoal(repos.off, { log: 'shoal-batching-off.log' });
    servers.push(off);
    const on = await startShoal(repos.on, { log: 'shoal-batching-on.log' });
    servers.push(on);
    ctx.say(`shoal batching off at ${off.url}, on at ${on.url}`);
    for (const m of BATCHING_MODELS) {
      ctx.say(`(a) ${m.model}: highest rate with p99 under the objective, batching off then on…`);
      const entry: Issue3Report['batching'][number] = { model: m.model, ...(m.dim !== undefined ? { dim: m.dim } : {}) };
      try {
        entry.off = await searchRate(off.url, m, false, search, ctx.say);
        entry.on = await searchRate(on.url, m, true, search, ctx.say);
        const [offBest, onBest] = [entry.off.best, entry.on.best];
        if (shared && offBest !== undefined && (onBest ?? 0) < BATCHING_TARGET * offBest) {
          ctx.say(`  ${m.model}: target not met; what a request costs with no inference, for the ceiling…`);
          const maxBatch = await fetchMaxBatchSize(endpoint(on.url), m.model);
          const ceiling = maxBatch !== undefined && maxBatch > 0
            ? await explanation(ctx, () => batchingCeiling(on.url, on.pid, repos.on, m, offBest, { seconds: pointS, warmupS, maxBatch }))
            : undefined;
          if (ceiling) entry.ceiling = ceiling;
        }
      } catch (err) {
        entry.error = (err as Error).message;
      }
      report.batching.push(entry);
    }
    await off.stop();
    ctx.say('(b) CNN: onnxruntime-node direct at each batch size, then shoal saturated…');
    try {
      report.cnn = await cnnCeiling(on.url, on.pid, repos.on, { pointS, warmupS });
      const c = report.cnn;
      if (shared && c.ratio < ENGINE_TARGET) {
        const bound = await explanation(ctx, () => engineCeiling(on.url, on.pid, { batch: c.saturated.batch, requestsPerS: c.saturated.stats.throughputPerS }, c.best.inferencesPerS, { seconds: pointS, warmupS }, () => startBareRefuser(on.url)));
        if (bound) report.cnnBound = bound;
      }
    } catch (err) {
      report.cnnError = (err as Error).message;
    }
    await on.stop();
    // A fresh server, so its memory and latency profile start from this test alone.
    const fresh = await startShoal(repos.overload, { log: 'shoal-overload.log' });
    servers.push(fresh);
    ctx.say(`(c) overload: ${OVERLOAD_MODEL.model} on a fresh server at ${fresh.url}…`);
    try {
      const o = await overload(fresh.url, fresh.pid, OVERLOAD_MODEL, { durationS: ctx.overloadS, pointS, warmupS }, ctx.say);
      report.overload = o;
      const best = bestGoodputPoint(o);
      if (shared && o.goodputRatio < OVERLOAD.goodputTarget && best?.stats && best.threads) {
        ctx.say('  overload: what a refusal costs, for the ceiling…');
        const maxBatch = await fetchMaxBatchSize(endpoint(fresh.url), OVERLOAD_MODEL.model);
        const at = { cores: best.threads.reduce((n, g) => n + g.running, 0), sentPerS: best.stats.sentRatePerS, answeredPerS: best.stats.throughputPerS, goodputPerS: best.stats.goodputPerS ?? 0 };
        const bound = await explanation(ctx, () => overloadBound(
          fresh.url, fresh.pid, repos.overload, OVERLOAD_MODEL, o.rate, at, { seconds: pointS, warmupS, maxBatch: maxBatch ?? OVERLOAD_MODEL.batch }, () => startBareRefuser(fresh.url),
        ));
        if (bound) report.overloadBound = bound;
      }
    } catch (err) {
      report.overloadError = (err as Error).message;
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  return issue3Section(report);
}

/** A ceiling measured to explain an unmet target (http-cost.ts): its failure is said, and leaves the figures it explains standing. */
async function explanation<T>(ctx: SectionContext, measure: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await measure();
  } catch (err) {
    ctx.say(`  the ceiling could not be measured: ${(err as Error).message}`);
    return undefined;
  }
}
