import { describe, expect, it } from 'vitest';
import type { TensorSpec } from '../../src/core/tensor.js';
import { completeConfig, type ModelIO } from '../../src/repository/autocomplete.js';
import { parseModelConfig } from '../../src/repository/config.js';

const FILE = 'models/m/config.yaml';
const spec = (name: string, datatype: TensorSpec['datatype'], dims: number[]): TensorSpec => ({ name, datatype, dims });

/** A model with a dynamic leading dimension on every tensor, as exporters usually write. */
const batchable: ModelIO = {
  inputs: [spec('x', 'FP32', [-1, 3, 224, 224]), spec('scale', 'FP32', [-1, 1])],
  outputs: [spec('logits', 'FP32', [-1, 1000])],
};

const complete = (yaml: string, model: ModelIO = batchable) => completeConfig(parseModelConfig(yaml, FILE, 'm'), model, FILE);

describe('completeConfig: filling in', () => {
  it('without a config, takes full shapes and max_batch_size 0', () => {
    const cfg = complete('');
    expect(cfg.max_batch_size).toBe(0);
    expect(cfg.input).toEqual([
      { name: 'x', data_type: 'FP32', dims: [-1, 3, 224, 224] },
      { name: 'scale', data_type: 'FP32', dims: [-1, 1] },
    ]);
    expect(cfg.output).toEqual([{ name: 'logits', data_type: 'FP32', dims: [-1, 1000] }]);
    expect(cfg.name).toBe('m');
  });

  it('with max_batch_size > 0, strips the batch dimension', () => {
    const cfg = complete('max_batch_size: 16');
    expect(cfg.max_batch_size).toBe(16);
    expect(cfg.input.map((t) => t.dims)).toEqual([[3, 224, 224], [1]]);
    expect(cfg.output[0]?.dims).toEqual([1000]);
  });

  it('completes the tensors a config leaves out, in the model order', () => {
    const cfg = complete('max_batch_size: 4\ninput: [{ name: scale, data_type: TYPE_FP32, dims: [1] }]');
    expect(cfg.input.map((t) => t.name)).toEqual(['x', 'scale']);
    expect(cfg.input[0]?.dims).toEqual([3, 224, 224]);
  });

  it('fills datatype and dims into a tensor the config names only', () => {
    const cfg = complete('input: [{ name: scale, optional: true }]');
    expect(cfg.input[1]).toEqual({ name: 'scale', data_type: 'FP32', dims: [-1, 1], optional: true });
  });

  it('lets the config fix a dimension the model leaves dynamic', () => {
    const model: ModelIO = { inputs: [spec('ids', 'INT64', [-1, -1])], outputs: [spec('out', 'FP32', [-1, -1, 768])] };
    const cfg = complete('max_batch_size: 8\ninput: [{ name: ids, data_type: INT64, dims: [128] }]', model);
    expect(cfg.input[0]?.dims).toEqual([128]);
    expect(cfg.output[0]?.dims).toEqual([-1, 768]);
  });

  it('checks reshape.shape, not dims, against the model', () => {
    const model: ModelIO = { inputs: [spec('x', 'FP32', [-1])], outputs: [spec('y', 'FP32', [-1])] };
    const cfg = complete('max_batch_size: 8\ninput: [{ name: x, dims: [1], reshape: { shape: [] } }]', model);
    expect(cfg.input[0]).toEqual({ name: 'x', data_type: 'FP32', dims: [1], reshape: { shape: [] } });
  });

  it('keeps the rest of the config', () => {
    const cfg = complete('max_batch_size: 8\ndynamic_batching: { max_queue_delay_microseconds: 100 }\nparameters: { a: b }');
    expect(cfg.dynamic_batching).toMatchObject({ preferred_batch_size: [], max_queue_delay_microseconds: 100, preserve_ordering: false, priority_levels: 0 });
    expect(cfg.parameters).toEqual({ a: 'b' });
  });
});

describe('completeConfig: mismatches are errors naming the tensor', () => {
  const fails = (yaml: string, re: RegExp, model: ModelIO = batchable) => expect(() => complete(yaml, model)).toThrow(re);

  it('a name the model does not have', () => {
    fails('input: [{ name: image }]', /^models\/m\/config\.yaml: input "image" is not an input of the model \(the model's inputs: "x", "scale"\)/);
    fails('output: [{ name: x }]', /output "x" is not an output of the model/);
  });

  it('a datatype the model does not have', () => {
    fails('input: [{ name: x, data_type: TYPE_FP16 }]', /input "x": data_type FP16 does not match the model's FP32/);
  });

  it('a batch dimension the model does not have', () => {
    const fixed: ModelIO = { inputs: [spec('x', 'FP32', [1, 3])], outputs: [spec('y', 'FP32', [-1, 3])] };
    fails('max_batch_size: 4', /input "x": max_batch_size is 4 but the model's shape \[1, 3\] does not start with a dynamic \(-1\) batch dimension/, fixed);
    const scalar: ModelIO = { inputs: [spec('x', 'FP32', [-1])], outputs: [spec('y', 'FP32', [])] };
    fails('max_batch_size: 4', /output "y": max_batch_size is 4 but the model's shape \[\]/, scalar);
  });

  it('dims of the wrong rank, with a hint when the batch dimension was written out', () => {
    fails('max_batch_size: 4\ninput: [{ name: scale, dims: [-1, 1] }]', /input "scale": dims \[-1, 1\] has 2 dimensions but the model's \[1\] has 1 \(with max_batch_size > 0, dims leave out the batch dimension\)/);
    fails('input: [{ name: scale, dims: [1] }]', /input "scale": dims \[1\] has 1 dimensions but the model's \[-1, 1\] has 2$/);
  });

  it('a dimension made dynamic or changed where the model fixes it', () => {
    fails('max_batch_size: 4\ninput: [{ name: x, dims: [3, -1, 224] }]', /input "x": dims\[1\] is -1 \(dynamic\) but the model fixes that dimension at 224/);
    fails('max_batch_size: 4\noutput: [{ name: logits, dims: [10] }]', /output "logits": dims\[0\] is 10 but the model fixes that dimension at 1000/);
  });

  it('dynamic batching without a batch dimension', () => {
    const partial = { ...parseModelConfig('', FILE, 'm'), dynamic_batching: parseModelConfig('max_batch_size: 1\ndynamic_batching: {}', FILE, 'm').dynamic_batching };
    expect(() => completeConfig(partial, batchable, FILE)).toThrow(/models\/m\/config\.yaml: dynamic_batching: needs max_batch_size > 0/);
  });
});
