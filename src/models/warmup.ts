import type { BackendSession } from '../backends/backend.js';
import { type DataType, allocate, numberToHalf } from '../core/datatype.js';
import type { ModelConfig, ModelWarmup, TensorConfig } from '../core/model-config.js';
import { type Tensor, elementCount } from '../core/tensor.js';
import { serverInputs } from '../scheduling/sequence-config.js';

/**
 * Warm-up: requests run on every instance of a freshly loaded version before it takes traffic,
 * so that the first real request does not pay for onnxruntime's lazy work (arena growth, kernel
 * choice, pre-packing on the first run). As in Triton, the config's `model_warmup` samples run
 * and a failure fails the load. shoal adds one sample when the config has none: batch 1, zeros,
 * each dynamic dimension 1, built from the completed config; a model that cannot run on that
 * (it needs a minimum length, say) still loads, since nobody asked for that sample.
 */
export interface WarmupSample {
  name: string;
  inputs: Tensor[];
  count: number;
  /** Configured samples fail the load when they fail; the generated one does not. */
  required: boolean;
}

export function warmupSamples(config: ModelConfig, random: () => number = Math.random): WarmupSample[] {
  if (config.model_warmup?.length) return config.model_warmup.map((w) => configuredSample(w, config, random));
  const batched = config.max_batch_size > 0;
  const inputs = config.input.filter((t) => !t.optional).map((t) => {
    const dims = (t.reshape?.shape ?? t.dims).map((d) => (d < 0 ? 1 : d));
    return tensor(t.name, t.data_type, batched ? [1, ...dims] : dims, false, random);
  });
  // A sequence model's state and constant inputs are the server's: a fresh sequence's values.
  return [{ name: 'generated: zeros, batch 1', inputs: [...inputs, ...serverInputs(config)], count: 1, required: false }];
}

function configuredSample(w: ModelWarmup, config: ModelConfig, random: () => number): WarmupSample {
  const batched = config.max_batch_size > 0;
  const inputs = Object.entries(w.inputs).map(([name, i]) => {
    const spec: TensorConfig | undefined = config.input.find((t) => t.name === name);
    // As for requests, the model may want another shape than the one clients (and this sample) give.
    const dims = spec?.reshape && elementCount(spec.reshape.shape) === elementCount(i.dims) ? spec.reshape.shape : i.dims;
    return tensor(name, i.data_type, batched ? [Math.max(1, w.batch_size), ...dims] : dims, i.data === 'random_data', random);
  });
  return { name: w.name, inputs, count: w.count, required: true };
}

function tensor(name: string, datatype: DataType, shape: number[], randomData: boolean, random: () => number): Tensor {
  const n = elementCount(shape);
  if (datatype === 'BYTES') return { name, datatype, shape, data: Array.from({ length: n }, () => new Uint8Array(0)) };
  const data = allocate(datatype, n);
  if (randomData) {
    for (let i = 0; i < n; i++) {
      const r = random();
      if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(Math.floor(r * 10));
      else if (datatype === 'FP16') data[i] = numberToHalf(r);
      else if (datatype === 'BOOL') data[i] = r < 0.5 ? 0 : 1;
      else if (datatype.startsWith('FP')) data[i] = r;
      else data[i] = Math.floor(r * 10);
    }
  }
  return { name, datatype, shape, data };
}

/** Runs every sample on every session, in turn; throws for a configured sample that fails. */
export async function runWarmup(sessions: readonly BackendSession[], config: ModelConfig, samples: readonly WarmupSample[]): Promise<void> {
  const outputs = config.output.map((o) => o.name);
  for (const s of samples) {
    for (const session of sessions) {
      for (let i = 0; i < s.count; i++) {
        try {
          await session.run(s.inputs, outputs);
        } catch (e) {
          if (s.required) throw new Error(`warm-up '${s.name}' failed: ${(e as Error).message}`, { cause: e });
          return;
        }
      }
    }
  }
}
