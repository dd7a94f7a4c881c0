import { DATATYPES } from '../../core/datatype.js';
import { ModelBuilder } from '../builder.js';
import type { ExampleTensor, GeneratedExample } from './example.js';

const tensors = (prefix: string): ExampleTensor[] =>
  DATATYPES.map((datatype) => ({ name: `${prefix}_${datatype}`, datatype, dims: [-1] }));

/**
 * One pass-through per KServe datatype, to check that every datatype survives the trip through
 * the protocol and the backend bit for bit. onnxruntime's CPU Identity kernel accepts all
 * thirteen (BYTES as ONNX strings), so no stand-in op is needed.
 */
export const identity: GeneratedExample = {
  name: 'identity',
  config: { max_batch_size: 0, input: tensors('INPUT'), output: tensors('OUTPUT') },
  build() {
    const b = new ModelBuilder('identity', 'OUTPUT_<DT> = INPUT_<DT> for every datatype');
    for (const dt of DATATYPES) {
      // Each pair has its own length, so a server that mixes up tensors cannot pass by luck.
      b.input(`INPUT_${dt}`, dt, [`n_${dt.toLowerCase()}`]);
      b.node('Identity', [`INPUT_${dt}`], [`OUTPUT_${dt}`]);
      b.output(`OUTPUT_${dt}`, dt, [`n_${dt.toLowerCase()}`]);
    }
    return b.toBytes();
  },
};

/** One FP32 pass-through, as Triton's identity_fp32: the smallest request the protocol can carry, for latency. */
export const identityFp32: GeneratedExample = {
  name: 'identity_fp32',
  config: { max_batch_size: 0, input: [{ name: 'INPUT_FP32', datatype: 'FP32', dims: [-1] }], output: [{ name: 'OUTPUT_FP32', datatype: 'FP32', dims: [-1] }] },
  build() {
    const b = new ModelBuilder('identity_fp32', 'OUTPUT_FP32 = INPUT_FP32');
    b.input('INPUT_FP32', 'FP32', ['n']);
    b.node('Identity', ['INPUT_FP32'], ['OUTPUT_FP32']);
    b.output('OUTPUT_FP32', 'FP32', ['n']);
    return b.toBytes();
  },
};
