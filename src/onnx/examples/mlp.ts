import { ModelBuilder, attr, seededRandom, uniform } from '../builder.js';
import type { GeneratedExample } from './example.js';

/**
 * Widths from input to logits. Sized like a small tabular or ranking model (about 9 M
 * weights, 36 MB), big enough that computing it costs more than carrying a request to it: with
 * a toy MLP (64→128→10, 10 k weights, 15 µs a run) every request's HTTP work dwarfed the
 * model's, so batching, which only saves model work, could not show in a server's throughput.
 */
export const MLP_SIZES = { input: 256, hidden: [2048, 2048, 2048], classes: 10 } as const;

/**
 * The MLP's parameters for a seed, one layer after another, laid out as torch.nn.Linear does
 * ([out, in], hence transB=1 in the Gemm nodes). Pure, so tests can run a reference forward
 * pass on the very weights the generator writes.
 */
export interface MlpLayer {
  /** [out, in] */
  weight: Float32Array;
  bias: Float32Array;
  in: number;
  out: number;
}

export function mlpWidths(): number[] {
  return [MLP_SIZES.input, ...MLP_SIZES.hidden, MLP_SIZES.classes];
}

export function mlpWeights(seed: number): MlpLayer[] {
  const random = seededRandom(seed, 'mlp');
  const widths = mlpWidths();
  return widths.slice(1).map((out, k) => {
    const fanIn = widths[k]!;
    // Uniform ±1/sqrt(fan_in), torch's default for Linear: keeps activations near unit scale.
    const bound = 1 / Math.sqrt(fanIn);
    return { weight: uniform(random, out * fanIn, bound), bias: uniform(random, out, bound), in: fanIn, out };
  });
}

export const mlp: GeneratedExample = {
  name: 'mlp',
  config: {
    max_batch_size: 32,
    input: [{ name: 'input', datatype: 'FP32', dims: [MLP_SIZES.input] }],
    output: [{ name: 'logits', datatype: 'FP32', dims: [MLP_SIZES.classes] }],
  },
  build(seed) {
    const widths = mlpWidths();
    const layers = mlpWeights(seed);
    const b = new ModelBuilder('mlp', `Gemm layers ${widths.join('→')}, Relu between them`);
    b.input('input', 'FP32', ['batch', MLP_SIZES.input]);
    const linear = { transB: attr.int(1) };
    let x = 'input';
    layers.forEach((l, k) => {
      const last = k === layers.length - 1;
      const inputs = [x, b.initializer(`fc${k + 1}.weight`, 'FP32', [l.out, l.in], l.weight), b.initializer(`fc${k + 1}.bias`, 'FP32', [l.out], l.bias)];
      if (last) b.node('Gemm', inputs, ['logits'], linear);
      else x = b.op('Relu', [b.op('Gemm', inputs, linear)]);
    });
    b.output('logits', 'FP32', ['batch', MLP_SIZES.classes]);
    return b.toBytes();
  },
};
