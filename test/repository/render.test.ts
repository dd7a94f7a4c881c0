import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { ModelConfig } from '../../src/core/model-config.js';
import { completeConfig } from '../../src/repository/autocomplete.js';
import { parseModelConfig } from '../../src/repository/config.js';
import { renderTritonConfig } from '../../src/repository/render.js';

const full: ModelConfig = {
  name: 'mlp',
  platform: 'onnxruntime_onnx',
  backend: 'onnxruntime',
  max_batch_size: 8,
  input: [
    { name: 'x', data_type: 'FP16', dims: [16, -1] },
    { name: 'text', data_type: 'BYTES', dims: [1], reshape: { shape: [] }, optional: true },
  ],
  output: [{ name: 'y', data_type: 'BOOL', dims: [4] }],
  version_policy: { specific: { versions: [1, 3] } },
  instance_group: [{ name: 'g', count: 2, kind: 'KIND_CPU' }, { count: 1, kind: 'KIND_GPU' }],
  optimization: { graph_level: 'basic', intra_op_thread_count: 4, inter_op_thread_count: 2, execution_mode: 'parallel' },
  dynamic_batching: {
    preferred_batch_size: [4, 8],
    max_queue_delay_microseconds: 250,
    preserve_ordering: true,
    priority_levels: 3,
    default_priority_level: 2,
    default_queue_policy: { timeout_action: 'DELAY', default_timeout_microseconds: 5000, allow_timeout_override: true, max_queue_size: 16 },
    priority_queue_policy: {
      1: { timeout_action: 'REJECT', default_timeout_microseconds: 1000, allow_timeout_override: false, max_queue_size: 4 },
      3: { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 0 },
    },
  },
  slo: { default_deadline_microseconds: 20000 },
  parameters: { custom: 'v', 'session.use_device_allocator_for_initializers': '1' },
  default_model_filename: 'net.onnx',
};

const reparse = (cfg: ModelConfig) => parseModelConfig(JSON.stringify(renderTritonConfig(cfg)), 'config.json', cfg.name);

describe('renderTritonConfig', () => {
  it("writes Triton's field names and values", () => {
    const json = renderTritonConfig(full);
    expect(json).toEqual({
      name: 'mlp',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      version_policy: { specific: { versions: [1, 3] } },
      max_batch_size: 8,
      input: [
        { name: 'x', data_type: 'TYPE_FP16', dims: [16, -1], optional: false },
        { name: 'text', data_type: 'TYPE_STRING', dims: [1], reshape: { shape: [] }, optional: true },
      ],
      output: [{ name: 'y', data_type: 'TYPE_BOOL', dims: [4] }],
      optimization: { graph: { level: -1 } },
      dynamic_batching: {
        preferred_batch_size: [4, 8],
        max_queue_delay_microseconds: 250,
        preserve_ordering: true,
        priority_levels: 3,
        default_priority_level: 2,
        default_queue_policy: { timeout_action: 'DELAY', default_timeout_microseconds: 5000, allow_timeout_override: true, max_queue_size: 16 },
        priority_queue_policy: {
          '1': { timeout_action: 'REJECT', default_timeout_microseconds: 1000, allow_timeout_override: false, max_queue_size: 4 },
          '3': { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 0 },
        },
      },
      slo: { default_deadline_microseconds: 20000 },
      instance_group: [{ name: 'g', kind: 'KIND_CPU', count: 2 }, { kind: 'KIND_GPU', count: 1 }],
      default_model_filename: 'net.onnx',
      parameters: {
        custom: { string_value: 'v' },
        'session.use_device_allocator_for_initializers': { string_value: '1' },
        intra_op_thread_count: { string_value: '4' },
        inter_op_thread_count: { string_value: '2' },
        execution_mode: { string_value: '1' },
      },
    });
  });

  it('round-trips: render, then parse, gives the same config', () => {
    expect(reparse(full)).toEqual(full);
  });

  it('round-trips through YAML as well', () => {
    expect(parseModelConfig(YAML.stringify(renderTritonConfig(full)), 'config.yaml', 'mlp')).toEqual(full);
  });

  it('round-trips an auto-completed config with defaults', () => {
    const cfg = completeConfig(parseModelConfig('', 'config.yaml', 'plain'), {
      inputs: [{ name: 'a', datatype: 'INT64', dims: [-1, 3] }],
      outputs: [{ name: 'b', datatype: 'FP64', dims: [2] }],
    }, 'config.yaml');
    expect(reparse(cfg)).toEqual(cfg);
    expect(renderTritonConfig(cfg)).toMatchObject({ version_policy: { latest: { num_versions: 1 } }, optimization: { graph: { level: 0 } } });
  });

  it('round-trips dynamic batching without priorities, and a config without dynamic batching or slo', () => {
    const plain = parseModelConfig('max_batch_size: 8\ndynamic_batching: {}', 'config.yaml', 'mlp').dynamic_batching!;
    const noPriorities = { ...full, dynamic_batching: plain };
    expect(reparse(noPriorities)).toEqual(noPriorities);
    expect(renderTritonConfig(noPriorities)['dynamic_batching']).toMatchObject({ priority_levels: 0, default_priority_level: 0, priority_queue_policy: {} });
    const { dynamic_batching: _d, slo: _s, ...bare } = full;
    expect(reparse(bare)).toEqual(bare);
    expect(renderTritonConfig(bare)).not.toHaveProperty('slo');
  });

  it('round-trips each version policy, graph level and datatype', () => {
    const policies: ModelConfig['version_policy'][] = [{ all: {} }, { latest: { num_versions: 3 } }];
    for (const version_policy of policies) expect(reparse({ ...full, version_policy })).toEqual({ ...full, version_policy });
    for (const graph_level of ['disabled', 'basic', 'extended', 'all'] as const) {
      const cfg = { ...full, optimization: { ...full.optimization, graph_level } };
      expect(reparse(cfg)).toEqual(cfg);
    }
    const types = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
    const cfg = { ...full, output: types.map((data_type, i) => ({ name: `o${i}`, data_type, dims: [1] })) };
    expect(reparse(cfg)).toEqual(cfg);
  });
});
