import { ModelBuilder } from '../builder.js';
import type { GeneratedExample } from './example.js';

/** Triton's classic "simple" model, in FP32: the smallest model with two inputs and two outputs. */
export const addSub: GeneratedExample = {
  name: 'add_sub',
  config: {
    max_batch_size: 8,
    input: [
      { name: 'INPUT0', datatype: 'FP32', dims: [16] },
      { name: 'INPUT1', datatype: 'FP32', dims: [16] },
    ],
    output: [
      { name: 'OUTPUT0', datatype: 'FP32', dims: [16] },
      { name: 'OUTPUT1', datatype: 'FP32', dims: [16] },
    ],
  },
  build() {
    const b = new ModelBuilder('add_sub', 'OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1');
    b.input('INPUT0', 'FP32', ['batch', 16]);
    b.input('INPUT1', 'FP32', ['batch', 16]);
    b.node('Add', ['INPUT0', 'INPUT1'], ['OUTPUT0']);
    b.node('Sub', ['INPUT0', 'INPUT1'], ['OUTPUT1']);
    b.output('OUTPUT0', 'FP32', ['batch', 16]);
    b.output('OUTPUT1', 'FP32', ['batch', 16]);
    return b.toBytes();
  },
};
