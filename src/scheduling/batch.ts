import { type NumericArray, type TensorData } from '../core/datatype.js';
import { type Tensor, elementCount, isBytes } from '../core/tensor.js';

/**
 * Forming a batch (concatenate along the batch dimension) and answering its requests
 * (slice it back) are the only copies a request's tensors go through.
 */

/** Inputs of several requests joined along dimension 0, in request order. */
export function concatBatch(requests: readonly Tensor[][]): Tensor[] {
  const first = requests[0]!;
  if (requests.length === 1) return first;
  return first.map((t, i) => {
    const parts = requests.map((r) => r[i]!);
    const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
    const shape = [rows, ...t.shape.slice(1)];
    return { name: t.name, datatype: t.datatype, shape, data: concatData(parts.map((p) => p.data), elementCount(shape)) };
  });
}

function concatData(parts: TensorData[], total: number): TensorData {
  const first = parts[0]!;
  if (isBytes(first)) return (parts as Uint8Array[][]).flat();
  const dt = first.constructor as { new (n: number): NumericArray };
  const out = new dt(total);
  let offset = 0;
  for (const p of parts as NumericArray[]) {
    (out as Uint8Array).set(p as Uint8Array, offset);
    offset += p.length;
  }
  return out;
}

/** Outputs of a batch cut back into per-request outputs of `rows[k]` rows each. */
export function splitBatch(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  if (rows.length === 1) return [outputs as Tensor[]];
  const result: Tensor[][] = rows.map(() => []);
  for (const t of outputs) {
    const perRow = elementCount(t.shape.slice(1));
    let start = 0;
    rows.forEach((n, k) => {
      const shape = [n, ...t.shape.slice(1)];
      const end = start + n * perRow;
      // subarray views the batch's buffer: no copy, and the batch lives as long as any answer does.
      const data = isBytes(t.data) ? t.data.slice(start, end) : t.data.subarray(start, end);
      result[k]!.push({ name: t.name, datatype: t.datatype, shape, data });
      start = end;
    });
  }
  return result;
}

/** A key equal for requests whose tensors can share a batch: same names, datatypes and non-batch dims. */
export function shapeKey(inputs: readonly Tensor[], batched: boolean): string {
  if (inputs.length === 1) return tensorKey(inputs[0]!, batched);
  return inputs
    .map((t) => tensorKey(t, batched))
    .sort()
    .join('|');
}

function tensorKey(t: Tensor, batched: boolean): string {
  // The non-batch dims joined with 'x', without slicing the shape.
  const start = batched ? 1 : 0;
  let dims = '';
  for (let i = start; i < t.shape.length; i++) dims += i === start ? String(t.shape[i]) : `x${t.shape[i]}`;
  return `${t.name}:${t.datatype}:${dims}`;
}

