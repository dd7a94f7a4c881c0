import { ModelBuilder, attr, seededRandom, uniform } from '../builder.js';
import type { GeneratedExample } from './example.js';

export const MLP_SIZES = { input: 64, hidden: 128, classes: 10 } as const;

/**
 * The MLP's parameters for a seed, laid out as torch.nn.Linear does ([out, in], hence
 * transB=1 in the Gemm nodes). Pure, so tests can run a reference forward pass on the
 * very weights the generator writes.
 */
export interface MlpWeights {
  w1: Float32Array; // [hidden, input]
  b1: Float32Array; // [hidden]
  w2: Float32Array; // [classes, hidden]
  b2: Float32Array; // [classes]
}

export function mlpWeights(seed: number): MlpWeights {
  const { input, hidden, classes } = MLP_SIZES;
  const random = seededRandom(seed, 'mlp');
  // Uniform ±1/sqrt(fan_in), torch's default for Linear: keeps activations near unit scale.
  const bound1 = 1 / Math.sqrt(input);
  const bound2 = 1 / Math.sqrt(hidden);
  return {
    w1: uniform(random, hidden * input, bound1),
    b1: uniform(random, hidden, bound1),
    w2: uniform(random, classes * hidden, bound2),
    b2: uniform(random, classes, bound2),
  };
}

export const mlp: GeneratedExample = {
  name: 'mlp',
  config: {
    max_batch_size: 32,
    input: [{ name: 'input', datatype: 'FP32', dims: [MLP_SIZES.input] }],
    output: [{ name: 'logits', datatype: 'FP32', dims: [MLP_SIZES.classes] }],
  },
  build(seed) {
    const { input, hidden, classes } = MLP_SIZES;
    const w = mlpWeights(seed);
    const b = new ModelBuilder('mlp', 'Gemm(64→128) + Relu → Gemm(128→10)');
    b.input('input', 'FP32', ['batch', input]);
    const linear = { transB: attr.int(1) };
    const fc1 = b.op('Gemm', ['input',
      b.initializer('fc1.weight', 'FP32', [hidden, input], w.w1),
      b.initializer('fc1.bias', 'FP32', [hidden], w.b1)], linear);
    const act = b.op('Relu', [fc1]);
    b.node('Gemm', [act,
      b.initializer('fc2.weight', 'FP32', [classes, hidden], w.w2),
      b.initializer('fc2.bias', 'FP32', [classes], w.b2)], ['logits'], linear);
    b.output('logits', 'FP32', ['batch', classes]);
    return b.toBytes();
  },
};
