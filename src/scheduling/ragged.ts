import { invalid } from '../core/errors.js';
import type { ModelConfig } from '../core/model-config.js';
import type { Padding } from './batch.js';

/**
 * A config's `pad` entries (shoal's ragged batching) as the batcher reads them: axes of the
 * model's full shape, batch dimension included. Absent when the model pads nothing. Throws,
 * naming the model and tensor, for a padding the batcher cannot carry out; the model manager
 * calls it at load, so such a config fails there, not on a request.
 */
export function paddingOf(config: ModelConfig): Padding | undefined {
  const where = (kind: string, name: string) => `model '${config.name}': ${kind} '${name}': pad`;
  const inputs = new Map<string, { axis: number; name: string; value: number }>();
  const outputs = new Map<string, { axis: number; name: string }>();
  for (const t of config.input) {
    if (!t.pad) continue;
    if (config.max_batch_size === 0) throw invalid(`${where('input', t.name)} needs max_batch_size > 0: padding lets requests share a batch`);
    if (t.data_type === 'BYTES') throw invalid(`${where('input', t.name)}: BYTES inputs cannot be padded`);
    const value = t.pad.value ?? 0;
    if (!t.data_type.startsWith('FP') && !Number.isInteger(value)) throw invalid(`${where('input', t.name)}: value ${value} is not a ${t.data_type}`);
    inputs.set(t.name, { axis: t.pad.dim + 1, name: t.pad.name, value });
  }
  const names = new Set([...inputs.values()].map((p) => p.name));
  for (const t of config.output) {
    if (!t.pad) continue;
    if (!names.has(t.pad.name)) {
      throw invalid(`${where('output', t.name)}: no input pads a dimension named '${t.pad.name}' (padded inputs name: ${[...names].map((n) => `'${n}'`).join(', ') || 'none'})`);
    }
    outputs.set(t.name, { axis: t.pad.dim + 1, name: t.pad.name });
  }
  return inputs.size > 0 ? { inputs, outputs } : undefined;
}
