import { type NumericArray, type TensorData } from '../core/datatype.js';
import { invalid } from '../core/errors.js';
import { type Tensor, elementCount, isBytes } from '../core/tensor.js';

/**
 * Forming a batch (concatenate along the batch dimension) and answering its requests
 * (slice it back) are the only copies a request's tensors go through.
 */

/**
 * Ragged batching (a model config's `pad`): which tensors may differ in length along which
 * axis (of the model's full shape, batch dimension included), grouped by the padded
 * dimension's name. Built from a config by `paddingOf` (ragged.ts).
 */
export interface Padding {
  inputs: ReadonlyMap<string, { axis: number; name: string; value: number }>;
  outputs: ReadonlyMap<string, { axis: number; name: string }>;
}

/** Inputs of several requests joined along dimension 0, in request order; with padding, each padded up to the longest first. */
export function concatBatch(requests: readonly Tensor[][], padding?: Padding): Tensor[] {
  const first = requests[0]!;
  if (requests.length === 1) return first;
  const longest = padding && longestOf(requests, padding);
  return first.map((t, i) => {
    const pad = longest && padding.inputs.get(t.name);
    const parts = pad ? requests.map((r) => padAlong(r[i]!, pad.axis, longest.get(pad.name)!, pad.value)) : requests.map((r) => r[i]!);
    const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
    const shape = [rows, ...parts[0]!.shape.slice(1)];
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

/**
 * Outputs of a batch cut back into per-request outputs of `rows[k]` rows each. With padding,
 * `lengths[k]` are request k's own lengths (`paddedLengths`), and padded outputs are cut to them.
 */
export function splitBatch(outputs: readonly Tensor[], rows: readonly number[], padding?: Padding, lengths?: ReadonlyArray<ReadonlyMap<string, number>>): Tensor[][] {
  if (rows.length === 1) return [outputs as Tensor[]];
  const parts = splitRows(outputs, rows);
  if (!padding || !lengths || padding.outputs.size === 0) return parts;
  return parts.map((answer, k) => answer.map((t) => {
    const pad = padding.outputs.get(t.name);
    const length = pad && lengths[k]!.get(pad.name);
    return pad && length !== undefined && length < t.shape[pad.axis]! ? sliceAlong(t, pad.axis, 0, length) : t;
  }));
}

function splitRows(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
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

/**
 * A key equal for requests whose tensors can share a batch: same names, datatypes and
 * non-batch dims, except that a padded dimension may differ (it reads '*').
 */
export function shapeKey(inputs: readonly Tensor[], batched: boolean, padding?: Padding): string {
  if (inputs.length === 1) return tensorKey(inputs[0]!, batched, padding?.inputs.get(inputs[0]!.name)?.axis);
  return inputs
    .map((t) => tensorKey(t, batched, padding?.inputs.get(t.name)?.axis))
    .sort()
    .join('|');
}

function tensorKey(t: Tensor, batched: boolean, padded: number | undefined): string {
  // The non-batch dims joined with 'x', without slicing the shape.
  const start = batched ? 1 : 0;
  let dims = '';
  for (let i = start; i < t.shape.length; i++) {
    const d = i === padded ? '*' : String(t.shape[i]);
    dims += i === start ? d : `x${d}`;
  }
  return `${t.name}:${t.datatype}:${dims}`;
}

/**
 * A request's own length along each padded dimension. Inputs that share a padded dimension
 * must agree on it: padding would hide the disagreement and the answer's length would be a guess.
 */
export function paddedLengths(inputs: readonly Tensor[], padding: Padding): Map<string, number> {
  const lengths = new Map<string, number>();
  const from = new Map<string, string>();
  for (const t of inputs) {
    const pad = padding.inputs.get(t.name);
    if (!pad) continue;
    const n = t.shape[pad.axis]!;
    const seen = lengths.get(pad.name);
    if (seen !== undefined && seen !== n) {
      throw invalid(`inputs '${from.get(pad.name)}' and '${t.name}' share the padded dimension '${pad.name}' but have lengths ${seen} and ${n}`);
    }
    lengths.set(pad.name, n);
    from.set(pad.name, t.name);
  }
  return lengths;
}

function longestOf(requests: readonly Tensor[][], padding: Padding): Map<string, number> {
  const longest = new Map<string, number>();
  for (const r of requests) {
    for (const [name, n] of paddedLengths(r, padding)) longest.set(name, Math.max(n, longest.get(name) ?? 0));
  }
  return longest;
}

// ---------------------------------------------------------------------------------------------
// Copies along one axis of a row-major tensor: `outer` blocks before the axis, `inner` elements after it.

function blocks(shape: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: elementCount(shape.slice(0, axis)), inner: elementCount(shape.slice(axis + 1)) };
}

/** `t` grown to `length` along `axis`, the new places filled with `value`; `t` itself when already that long. */
export function padAlong(t: Tensor, axis: number, length: number, value: number): Tensor {
  const n = t.shape[axis]!;
  if (n === length) return t;
  if (isBytes(t.data)) throw new Error(`cannot pad BYTES tensor '${t.name}'`);
  const shape = t.shape.map((d, i) => (i === axis ? length : d));
  const { outer, inner } = blocks(t.shape, axis);
  const src = t.data;
  const out = new (src.constructor as { new (n: number): NumericArray })(elementCount(shape));
  const fill = src instanceof BigInt64Array || src instanceof BigUint64Array ? BigInt(value) : value;
  if (value !== 0) (out as unknown as { fill(v: unknown): void }).fill(fill);
  for (let o = 0; o < outer; o++) {
    (out as Uint8Array).set(src.subarray(o * n * inner, (o + 1) * n * inner) as Uint8Array, o * length * inner);
  }
  return { name: t.name, datatype: t.datatype, shape, data: out };
}

/** Indices `start` to `start + count` of `t` along `axis`, copied (a view only when the axis is the outermost). */
export function sliceAlong(t: Tensor, axis: number, start: number, count: number): Tensor {
  const n = t.shape[axis]!;
  if (start === 0 && count === n) return t;
  const shape = t.shape.map((d, i) => (i === axis ? count : d));
  const { outer, inner } = blocks(t.shape, axis);
  if (isBytes(t.data)) {
    const out: Uint8Array[] = [];
    for (let o = 0; o < outer; o++) out.push(...t.data.slice((o * n + start) * inner, (o * n + start + count) * inner));
    return { name: t.name, datatype: t.datatype, shape, data: out };
  }
  const src = t.data;
  if (outer === 1) return { name: t.name, datatype: t.datatype, shape, data: src.subarray(start * inner, (start + count) * inner) };
  const out = new (src.constructor as { new (n: number): NumericArray })(elementCount(shape));
  for (let o = 0; o < outer; o++) {
    (out as Uint8Array).set(src.subarray((o * n + start) * inner, (o * n + start + count) * inner) as Uint8Array, o * count * inner);
  }
  return { name: t.name, datatype: t.datatype, shape, data: out };
}

/** Tensors of equal shape but along `axis` joined along it, in order. */
export function concatAlong(parts: readonly Tensor[], axis: number): Tensor {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  const total = parts.reduce((s, p) => s + p.shape[axis]!, 0);
  const shape = first.shape.map((d, i) => (i === axis ? total : d));
  const { outer, inner } = blocks(first.shape, axis);
  if (isBytes(first.data)) throw new Error(`cannot join BYTES tensor '${first.name}' along axis ${axis}`);
  const out = new (first.data.constructor as { new (n: number): NumericArray })(elementCount(shape));
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const len = p.shape[axis]! * inner;
      (out as Uint8Array).set((p.data as NumericArray).subarray(o * len, (o + 1) * len) as Uint8Array, offset);
      offset += len;
    }
  }
  return { name: first.name, datatype: first.datatype, shape, data: out };
}

