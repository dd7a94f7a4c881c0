import { ModelBuilder, attr, seededRandom, uniform, type AttributeValue } from '../builder.js';
import type { GeneratedExample } from './example.js';

/** A LeNet-sized classifier for 28×28 grey images (MNIST's shape); the weights are random. */
export const cnn: GeneratedExample = {
  name: 'cnn',
  config: {
    max_batch_size: 32,
    input: [{ name: 'input', datatype: 'FP32', dims: [1, 28, 28] }],
    output: [{ name: 'logits', datatype: 'FP32', dims: [10] }],
  },
  build(seed) {
    const random = seededRandom(seed, 'cnn');
    const b = new ModelBuilder('cnn', 'Conv 8 → pool → Conv 16 → pool → Gemm 784→10');
    b.input('input', 'FP32', ['batch', 1, 28, 28]);

    const conv3x3: Record<string, AttributeValue> = { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) };
    const pool2x2: Record<string, AttributeValue> = { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) };

    /** Conv + Relu + MaxPool, halving the image and mapping `cin` channels to `cout`. */
    const stage = (x: string, name: string, cin: number, cout: number): string => {
      const bound = 1 / Math.sqrt(cin * 9);
      const weight = b.initializer(`${name}.weight`, 'FP32', [cout, cin, 3, 3], uniform(random, cout * cin * 9, bound));
      const bias = b.initializer(`${name}.bias`, 'FP32', [cout], uniform(random, cout, bound));
      return b.op('MaxPool', [b.op('Relu', [b.op('Conv', [x, weight, bias], conv3x3)])], pool2x2);
    };

    const features = stage(stage('input', 'conv1', 1, 8), 'conv2', 8, 16); // [batch, 16, 7, 7]
    const flat = b.op('Flatten', [features], { axis: attr.int(1) });
    const fanIn = 16 * 7 * 7;
    const bound = 1 / Math.sqrt(fanIn);
    b.node('Gemm', [flat,
      b.initializer('fc.weight', 'FP32', [10, fanIn], uniform(random, 10 * fanIn, bound)),
      b.initializer('fc.bias', 'FP32', [10], uniform(random, 10, bound))], ['logits'], { transB: attr.int(1) });
    b.output('logits', 'FP32', ['batch', 10]);
    return b.toBytes();
  },
};
