import type { DataType } from '../../core/datatype.js';

/** One input or output as the example's config.yaml declares it. */
export interface ExampleTensor {
  name: string;
  datatype: DataType;
  /** Excludes the batch dimension when max_batch_size > 0; -1 is dynamic. */
  dims: number[];
  /** shoal's ragged batching (TensorPad in src/core/model-config.ts). */
  pad?: { dim: number; name: string; value?: number };
}

export interface ExampleConfig {
  max_batch_size: number;
  input: ExampleTensor[];
  output: ExampleTensor[];
}

/** An example model generated from code: its config and its ONNX bytes for a seed. */
export interface GeneratedExample {
  name: string;
  config: ExampleConfig;
  build(seed: number): Uint8Array;
}
