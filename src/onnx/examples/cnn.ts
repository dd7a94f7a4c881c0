import { ModelBuilder, attr, seededRandom, uniform, type AttributeValue } from '../builder.js';
import type { GeneratedExample } from './example.js';

/** Input image shape (channels, height, width): CIFAR's 32×32 colour images. */
export const CNN_INPUT = [3, 32, 32] as const;
export const CNN_CLASSES = 10;
const CHANNELS = [64, 128, 256] as const;

/**
 * A small VGG-style classifier: three Conv 3×3 + Relu + MaxPool stages, global average pooling
 * and a linear layer; the weights are random. About 40 M multiply-adds an image (0.23–0.35 ms
 * on two cores of this machine, bench/baselines/ort-direct.ts at batch 32 to 1, in `npm run
 * bench`), so a batch's compute outweighs carrying its 12 KB images over
 * HTTP, as it does for the image models people serve. (The first example CNN was LeNet-sized,
 * 9 µs an image: there the HTTP bytes, not the model, were what any server measured.)
 */
export const cnn: GeneratedExample = {
  name: 'cnn',
  config: {
    max_batch_size: 32,
    input: [{ name: 'input', datatype: 'FP32', dims: [...CNN_INPUT] }],
    output: [{ name: 'logits', datatype: 'FP32', dims: [CNN_CLASSES] }],
  },
  build(seed) {
    const random = seededRandom(seed, 'cnn');
    const b = new ModelBuilder('cnn', `(Conv 3×3 → Relu → MaxPool) × 3 (${CHANNELS.join(', ')} channels) → GlobalAveragePool → Gemm ${CHANNELS[2]}→${CNN_CLASSES}`);
    b.input('input', 'FP32', ['batch', ...CNN_INPUT]);

    const conv3x3: Record<string, AttributeValue> = { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) };
    const pool2x2: Record<string, AttributeValue> = { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) };

    /** Conv + Relu + MaxPool, halving the image and mapping `cin` channels to `cout`. */
    const stage = (x: string, name: string, cin: number, cout: number): string => {
      const bound = 1 / Math.sqrt(cin * 9);
      const weight = b.initializer(`${name}.weight`, 'FP32', [cout, cin, 3, 3], uniform(random, cout * cin * 9, bound));
      const bias = b.initializer(`${name}.bias`, 'FP32', [cout], uniform(random, cout, bound));
      return b.op('MaxPool', [b.op('Relu', [b.op('Conv', [x, weight, bias], conv3x3)])], pool2x2);
    };

    let x = 'input';
    let cin: number = CNN_INPUT[0];
    CHANNELS.forEach((cout, k) => {
      x = stage(x, `conv${k + 1}`, cin, cout);
      cin = cout;
    });
    const flat = b.op('Flatten', [b.op('GlobalAveragePool', [x])], { axis: attr.int(1) });
    const bound = 1 / Math.sqrt(cin);
    b.node('Gemm', [flat,
      b.initializer('fc.weight', 'FP32', [CNN_CLASSES, cin], uniform(random, CNN_CLASSES * cin, bound)),
      b.initializer('fc.bias', 'FP32', [CNN_CLASSES], uniform(random, CNN_CLASSES, bound))], ['logits'], { transB: attr.int(1) });
    b.output('logits', 'FP32', ['batch', CNN_CLASSES]);
    return b.toBytes();
  },
};
