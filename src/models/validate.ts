import type { ModelConfig, TensorConfig } from '../core/model-config.js';
import type { InferRequest } from '../core/request.js';
import { invalid } from '../core/errors.js';

/**
 * Checks a decoded request against the model it names: the right inputs, datatypes and
 * shapes, a batch within max_batch_size, and outputs that exist. Returns the batch size
 * (1 for a model without a batch dimension). Wire-level checks (data length vs shape,
 * value ranges) happened in the protocol adapter already.
 */
export function validateRequest(req: InferRequest, config: ModelConfig): number {
  const declared = new Map(config.input.map((c) => [c.name, c]));
  const given = new Set<string>();
  let batch: number | undefined;
  for (const t of req.inputs) {
    const spec = declared.get(t.name);
    if (!spec) {
      throw invalid(`unexpected input '${t.name}' for model '${config.name}'; it expects ${names(config.input)}`);
    }
    given.add(t.name);
    if (t.datatype !== spec.data_type) {
      throw invalid(`input '${t.name}': datatype ${t.datatype} does not match the model's ${spec.data_type}`);
    }
    let dims = t.shape;
    if (config.max_batch_size > 0) {
      const b = t.shape[0];
      if (b === undefined) throw invalid(`input '${t.name}': shape [] has no batch dimension; expected [batch, ${spec.dims.join(', ')}]`);
      if (b < 1 || b > config.max_batch_size) {
        throw invalid(`input '${t.name}': batch size ${b} is outside 1..${config.max_batch_size} (max_batch_size of model '${config.name}')`);
      }
      if (batch !== undefined && b !== batch) {
        throw invalid(`input '${t.name}': batch size ${b} differs from the other inputs' ${batch}`);
      }
      batch = b;
      dims = t.shape.slice(1);
    }
    // `dims` is the shape clients send; a `reshape` applies only on the way into the model.
    const expected = spec.dims;
    if (!fits(dims, expected)) {
      const full = config.max_batch_size > 0 ? ['batch', ...expected.map(dimText)] : expected.map(dimText);
      throw invalid(`input '${t.name}': shape [${t.shape.join(', ')}] does not match the model's [${full.join(', ')}]`);
    }
  }
  const missing = config.input.filter((c) => !c.optional && !given.has(c.name));
  if (missing.length > 0) {
    throw invalid(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c.name}'`).join(', ')} for model '${config.name}'`);
  }
  if (req.outputs) {
    const outs = new Set(config.output.map((o) => o.name));
    for (const o of req.outputs) {
      if (!outs.has(o.name)) throw invalid(`unknown output '${o.name}' requested; model '${config.name}' has ${names(config.output)}`);
    }
  }
  return batch ?? 1;
}

function fits(shape: readonly number[], dims: readonly number[]): boolean {
  return shape.length === dims.length && shape.every((d, i) => dims[i] === -1 || dims[i] === d);
}

function dimText(d: number): string {
  return d === -1 ? '-1' : String(d);
}

function names(specs: readonly TensorConfig[]): string {
  return specs.map((s) => `'${s.name}'`).join(', ');
}
