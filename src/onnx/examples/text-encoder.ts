import { ModelBuilder, attr, seededRandom, uniform } from '../builder.js';
import type { GeneratedExample } from './example.js';

export const TEXT_ENCODER_SIZES = { vocab: 1000, maxLength: 128, model: 64, heads: 4, ffn: 256 } as const;

/**
 * One transformer encoder block (post-norm, as in BERT) over token ids, with an attention mask
 * so that padded batches give the same states for the real tokens as unpadded ones.
 */
export const textEncoder: GeneratedExample = {
  name: 'text_encoder',
  config: {
    max_batch_size: 16,
    // Requests of different lengths may share a batch: padded with mask 0, the extra tokens get no attention.
    input: [
      { name: 'input_ids', datatype: 'INT64', dims: [-1], pad: { dim: 0, name: 'sequence', value: 0 } },
      { name: 'attention_mask', datatype: 'INT64', dims: [-1], pad: { dim: 0, name: 'sequence', value: 0 } },
    ],
    output: [{ name: 'last_hidden_state', datatype: 'FP32', dims: [-1, TEXT_ENCODER_SIZES.model], pad: { dim: 0, name: 'sequence' } }],
  },
  build(seed) {
    const { vocab, maxLength, model: d, heads, ffn } = TEXT_ENCODER_SIZES;
    const headSize = d / heads;
    const random = seededRandom(seed, 'text_encoder');
    const b = new ModelBuilder('text_encoder', 'token + position embedding → self-attention → FFN, post-norm');
    b.input('input_ids', 'INT64', ['batch', 'sequence']);
    b.input('attention_mask', 'INT64', ['batch', 'sequence']);

    const weights = (name: string, dims: number[], bound: number) =>
      b.initializer(name, 'FP32', dims, uniform(random, dims.reduce((x, y) => x * y, 1), bound));
    const int64s = (name: string, values: number[]) => b.initializer(name, 'INT64', [values.length], values);
    const scalar = (name: string, value: number) => b.initializer(name, 'FP32', [], [value]);
    /** x·W + bias, with W stored [in, out] as MatMul wants it. */
    const linear = (x: string, name: string, fanIn: number, fanOut: number) => {
      const bound = 1 / Math.sqrt(fanIn);
      return b.op('Add', [b.op('MatMul', [x, weights(`${name}.weight`, [fanIn, fanOut], bound)]), weights(`${name}.bias`, [fanOut], bound)]);
    };
    const layerNorm = (x: string, name: string, output?: string) => b.op('LayerNormalization', [x,
      b.initializer(`${name}.weight`, 'FP32', [d], uniform(random, d, 0.1).map((v) => 1 + v)),
      weights(`${name}.bias`, [d], 0.1)], { axis: attr.int(-1), epsilon: attr.float(1e-5) }, output);

    // Embeddings: positions 0..seq-1 are the first rows of a learned table.
    const tokens = b.op('Gather', [weights('embeddings.token', [vocab, d], 1), 'input_ids']);
    const seqLength = b.op('Shape', ['input_ids'], { start: attr.int(1), end: attr.int(2) });
    const positions = b.op('Slice', [weights('embeddings.position', [maxLength, d], 1), int64s('zero', [0]), seqLength, int64s('axis0', [0])]);
    const x = b.op('Add', [tokens, positions]); // [batch, seq, d]

    // Self-attention. Heads are split as [batch, seq, heads, headSize] → [batch, heads, seq, headSize].
    const splitHeads = int64s('split_heads', [0, 0, heads, headSize]);
    const project = (name: string, perm: number[]) =>
      b.op('Transpose', [b.op('Reshape', [linear(x, name, d, d), splitHeads])], { perm: attr.ints(perm) });
    const q = project('attention.query', [0, 2, 1, 3]);
    const kT = project('attention.key', [0, 2, 3, 1]); // [batch, heads, headSize, seq]
    const v = project('attention.value', [0, 2, 1, 3]);
    const scores = b.op('Mul', [b.op('MatMul', [q, kT]), scalar('inv_sqrt_head_size', 1 / Math.sqrt(headSize))]);

    // Masked keys get a large negative bias, so softmax gives them weight exactly 0 in float32.
    const mask = b.op('Cast', ['attention_mask'], { to: attr.int(1) });
    const bias = b.op('Mul', [b.op('Sub', [scalar('one', 1), mask]), scalar('mask_bias', -1e9)]);
    const keyBias = b.op('Unsqueeze', [bias, int64s('head_and_query_axes', [1, 2])]); // [batch, 1, 1, seq]
    const probs = b.op('Softmax', [b.op('Add', [scores, keyBias])], { axis: attr.int(-1) });
    const context = b.op('Reshape', [
      b.op('Transpose', [b.op('MatMul', [probs, v])], { perm: attr.ints([0, 2, 1, 3]) }),
      int64s('merge_heads', [0, 0, d])]);
    const attended = layerNorm(b.op('Add', [x, linear(context, 'attention.output', d, d)]), 'attention.norm');

    // Feed-forward with exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)); opset 17 has no Gelu op.
    const hidden = linear(attended, 'ffn.up', d, ffn);
    const erf = b.op('Erf', [b.op('Mul', [hidden, scalar('inv_sqrt2', Math.SQRT1_2)])]);
    const gelu = b.op('Mul', [b.op('Mul', [hidden, scalar('half', 0.5)]), b.op('Add', [erf, 'one'])]);
    layerNorm(b.op('Add', [attended, linear(gelu, 'ffn.down', ffn, d)]), 'ffn.norm', 'last_hidden_state');
    b.output('last_hidden_state', 'FP32', ['batch', 'sequence', d]);
    return b.toBytes();
  },
};
