import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/core/errors.js';
import { defaultPartialConfig, parseModelConfig } from '../../src/repository/config.js';

const FILE = 'models/mlp/config.yaml';
const NO_PRIORITIES = {
  priority_levels: 0,
  default_priority_level: 0,
  default_queue_policy: { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 0 },
  priority_queue_policy: {},
} as const;
const parse = (text: string) => parseModelConfig(text, FILE, 'mlp');

function errorOf(text: string): ShoalError {
  try {
    parse(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ShoalError);
    expect((e as ShoalError).kind).toBe('invalid_argument');
    return e as ShoalError;
  }
  throw new Error('expected the config to be refused');
}

describe('parseModelConfig: defaults', () => {
  it('an empty file is every default', () => {
    const cfg = parse('');
    expect(cfg).toEqual(defaultPartialConfig('mlp'));
    expect(cfg.max_batch_size).toBeUndefined();
    expect(cfg).toMatchObject({
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      version_policy: { latest: { num_versions: 1 } },
      instance_group: [{ count: 1, kind: 'KIND_CPU' }],
      optimization: { graph_level: 'all', intra_op_thread_count: 0, inter_op_thread_count: 0, execution_mode: 'sequential' },
      parameters: {},
    });
  });

  it('takes the name from the directory', () => {
    expect(parse('max_batch_size: 4').name).toBe('mlp');
    expect(parse('name: mlp').name).toBe('mlp');
  });
});

describe('parseModelConfig: Triton vocabulary', () => {
  it('reads a full YAML config', () => {
    const cfg = parse(`
name: mlp
platform: onnxruntime_onnx
max_batch_size: 8
input:
  - name: x
    data_type: TYPE_FP32
    dims: [16]
  - { name: mask, data_type: TYPE_BOOL, dims: [-1], optional: true }
output:
  - { name: y, data_type: FP32, dims: [4] }
  - { name: label, data_type: TYPE_STRING, dims: [1] }
version_policy: { specific: { versions: [3, 1, 3] } }
instance_group: [{ name: cpus, count: 2, kind: KIND_CPU }]
dynamic_batching:
  preferred_batch_size: [4, 8]
  max_queue_delay_microseconds: 500
  preserve_ordering: true
optimization: { graph: { level: 1 } }
parameters:
  intra_op_thread_count: { string_value: "4" }
  inter_op_thread_count: "2"
  execution_mode: { string_value: "1" }
  custom: { string_value: "hello" }
  plain: yes
  number: 7
default_model_filename: net.onnx
`);
    expect(cfg).toEqual({
      name: 'mlp',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 8,
      input: [
        { name: 'x', data_type: 'FP32', dims: [16] },
        { name: 'mask', data_type: 'BOOL', dims: [-1], optional: true },
      ],
      output: [
        { name: 'y', data_type: 'FP32', dims: [4] },
        { name: 'label', data_type: 'BYTES', dims: [1] },
      ],
      version_policy: { specific: { versions: [1, 3] } },
      instance_group: [{ name: 'cpus', count: 2, kind: 'KIND_CPU' }],
      dynamic_batching: { preferred_batch_size: [4, 8], max_queue_delay_microseconds: 500, preserve_ordering: true, ...NO_PRIORITIES },
      optimization: { graph_level: 'extended', intra_op_thread_count: 4, inter_op_thread_count: 2, execution_mode: 'parallel' },
      parameters: { custom: 'hello', plain: 'yes', number: '7' },
      default_model_filename: 'net.onnx',
    });
  });

  it('reads JSON, including proto3-style 64-bit integers as strings', () => {
    const cfg = parseModelConfig(JSON.stringify({
      max_batch_size: 2,
      input: [{ name: 'x', data_type: 'TYPE_INT64', dims: ['3', '-1'] }],
      dynamic_batching: { max_queue_delay_microseconds: '100' },
    }), 'models/mlp/config.json', 'mlp');
    expect(cfg.input[0]).toEqual({ name: 'x', data_type: 'INT64', dims: [3, -1] });
    expect(cfg.dynamic_batching?.max_queue_delay_microseconds).toBe(100);
  });

  it('maps graph levels the way the onnxruntime backend numbers them', () => {
    const level = (l: string) => parse(`optimization: { graph: { level: ${l} } }`).optimization.graph_level;
    expect(level('-1')).toBe('basic');
    expect(level('0')).toBe('all');
    expect(level('1')).toBe('extended');
    expect(level('2')).toBe('disabled');
    expect(level('basic')).toBe('basic');
  });

  it('treats an empty YAML key as an empty mapping', () => {
    expect(parse('version_policy:\n  all:\n').version_policy).toEqual({ all: {} });
    expect(parse('max_batch_size: 4\ndynamic_batching:\n').dynamic_batching)
      .toEqual({ preferred_batch_size: [], max_queue_delay_microseconds: 0, preserve_ordering: false, ...NO_PRIORITIES });
    expect(parse('version_policy: { latest: {} }').version_policy).toEqual({ latest: { num_versions: 1 } });
  });

  it('leaves datatype and dims out when the file does, for auto-complete', () => {
    expect(parse('input: [{ name: mask, optional: true }]').input).toEqual([{ name: 'mask', optional: true }]);
  });

  it("accepts Triton's own JSON output, whose unsupported fields sit at their defaults", () => {
    const triton = {
      name: 'mlp', platform: 'onnxruntime_onnx', backend: 'onnxruntime', runtime: '',
      version_policy: { latest: { num_versions: 1 } }, max_batch_size: 0,
      input: [{ name: 'x', data_type: 'TYPE_FP32', format: 'FORMAT_NONE', dims: [3], is_shape_tensor: false, allow_ragged_batch: false, optional: false }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [3], label_filename: '', is_shape_tensor: false }],
      batch_input: [], batch_output: [],
      optimization: { priority: 'PRIORITY_DEFAULT', input_pinned_memory: { enable: true }, output_pinned_memory: { enable: true }, gather_kernel_buffer_threshold: 0, eager_batching: false },
      instance_group: [{ name: 'mlp_0', kind: 'KIND_CPU', count: 1, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' }],
      default_model_filename: 'model.onnx', cc_model_filenames: {}, metric_tags: {}, parameters: {}, model_warmup: [],
    };
    const cfg = parseModelConfig(JSON.stringify(triton), 'models/mlp/config.json', 'mlp');
    expect(cfg.input).toEqual([{ name: 'x', data_type: 'FP32', dims: [3] }]);
    expect(cfg.instance_group).toEqual([{ name: 'mlp_0', kind: 'KIND_CPU', count: 1 }]);
  });
});

describe('parseModelConfig: errors name the file and the field', () => {
  it('unknown datatype', () => {
    expect(errorOf('input: [{ name: x, data_type: TYPE_FLOAT, dims: [1] }]').message).toMatch(
      /^models\/mlp\/config\.yaml: input\[0\]\.data_type: unknown datatype "TYPE_FLOAT" \(expected one of TYPE_BOOL, .*TYPE_STRING/,
    );
  });

  it('unknown fields, with a suggestion for a typo', () => {
    const msg = errorOf('max_batch_sise: 4').message;
    expect(msg).toBe('models/mlp/config.yaml: unknown field "max_batch_sise" (did you mean "max_batch_size"?)');
    expect(errorOf('input: [{ name: x, dtype: FP32 }]').message).toMatch(/input\[0\]: unknown field "dtype" \(known fields: name, data_type, dims/);
    expect(errorOf('optimization: { graph: { levle: 1 } }').message).toMatch(/optimization\.graph: unknown field "levle"/);
  });

  it('a name that is not the directory name', () => {
    expect(errorOf('name: other').message).toBe('models/mlp/config.yaml: name: "other" does not match the model directory "mlp"');
  });

  it('YAML syntax errors give the line', () => {
    expect(errorOf('input:\n  - { name: x\nmax_batch_size: [1\n').message).toMatch(/^models\/mlp\/config\.yaml: line 3, column 1: /);
    expect(errorOf('max_batch_size: 1\nmax_batch_size: 2\n').message).toMatch(/^models\/mlp\/config\.yaml: line 2, column 1: Map keys must be unique/);
  });

  it('YAML that expands without bound', () => {
    const bomb = ['a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');
    expect(errorOf(bomb).message).toMatch(/^models\/mlp\/config\.yaml: /);
  });

  it('a top level that is not a mapping', () => {
    expect(errorOf('- 1\n- 2').message).toMatch(/expected a mapping of config fields at the top level, got a list/);
  });

  it('bad values, several at once in one message', () => {
    const msg = errorOf('max_batch_size: -1\ninput: 3\ninstance_group: [{ kind: KIND_AUTO }]\nplatform: tensorrt_plan\n').message;
    expect(msg).toContain('max_batch_size: expected an integer >= 0, got -1');
    expect(msg).toContain('input: expected a list, got 3');
    expect(msg).toContain('instance_group[0].kind: expected one of KIND_CPU, KIND_GPU, got "KIND_AUTO"');
    expect(msg).toContain('platform: shoal serves ONNX models only');
    expect(msg.split('models/mlp/config.yaml').length).toBe(2); // one message, file named once
  });

  it('dims and required fields', () => {
    expect(errorOf('input: [{ name: x, dims: [1, -2] }]').message).toMatch(/input\[0\]\.dims\[1\]: expected an integer >= -1, got -2/);
    expect(errorOf('input: [{ name: x, dims: [1.5] }]').message).toMatch(/input\[0\]\.dims\[0\]: expected an integer >= -1, got 1\.5/);
    expect(errorOf('input: [{ data_type: FP32 }]').message).toMatch(/input\[0\]\.name: is required/);
    expect(errorOf('output: [{ name: "" }]').message).toMatch(/output\[0\]\.name: must not be empty/);
    expect(errorOf('input: [{ name: x }, { name: x }]').message).toMatch(/input\[1\]\.name: duplicate input "x"/);
  });

  it('version policies', () => {
    expect(errorOf('version_policy: { latest: { num_versions: 1 }, all: {} }').message).toMatch(/version_policy: give exactly one of latest, all, specific/);
    expect(errorOf('version_policy: {}').message).toMatch(/version_policy: give exactly one/);
    expect(errorOf('version_policy: { latest: { num_versions: 0 } }').message).toMatch(/version_policy\.latest\.num_versions: expected an integer >= 1/);
    expect(errorOf('version_policy: { specific: { versions: [] } }').message).toMatch(/version_policy\.specific\.versions: must list at least one version/);
  });

  it('batching settings that cannot work', () => {
    expect(errorOf('max_batch_size: 0\ndynamic_batching: {}').message).toMatch(/dynamic_batching: needs max_batch_size > 0/);
    expect(errorOf('dynamic_batching: {}').message).toMatch(/dynamic_batching: needs max_batch_size > 0/);
    expect(errorOf('max_batch_size: 4\ndynamic_batching: { preferred_batch_size: [2, 8] }').message)
      .toMatch(/dynamic_batching\.preferred_batch_size\[1\]: 8 exceeds max_batch_size 4/);
  });

  it('reshape', () => {
    expect(errorOf('input: [{ name: x, dims: [2, 3], reshape: { shape: [7] } }]').message).toMatch(/input\[0\]\.reshape: shape \[7\] holds 7 elements but dims \[2, 3\] hold 6/);
    expect(errorOf('input: [{ name: x, reshape: { shape: [7] } }]').message).toMatch(/input\[0\]\.reshape: needs dims as well/);
    expect(parse('input: [{ name: x, dims: [6], reshape: { shape: [2, 3] } }]').input[0]?.reshape).toEqual({ shape: [2, 3] });
  });

  it('onnxruntime parameters', () => {
    expect(errorOf('parameters: { execution_mode: "2" }').message).toMatch(/parameters\.execution_mode: expected "0" \(sequential\) or "1" \(parallel\), got "2"/);
    expect(errorOf('parameters: { intra_op_thread_count: { string_value: many } }').message).toMatch(/parameters\.intra_op_thread_count: expected a thread count/);
    expect(errorOf('parameters: { "a.b": [1] }').message).toMatch(/parameters\["a\.b"\]: expected a string or \{string_value/);
    expect(errorOf('parameters: [a, b]').message).toMatch(/parameters: expected a mapping, got a list/);
    expect(errorOf('parameters: { __proto__: x }').message).toMatch(/parameters: "__proto__" is not allowed as a parameter name/);
  });

  it('Triton settings shoal does not implement are refused, not dropped', () => {
    expect(errorOf('ensemble_scheduling: {}').message).toMatch(/ensemble_scheduling: is a Triton feature shoal does not support/);
    expect(errorOf('instance_group: [{ count: 1, gpus: [0] }]').message).toMatch(/instance_group\[0\]\.gpus: is a Triton setting shoal does not support/);
    expect(errorOf('optimization: { execution_accelerators: { cpu_execution_accelerator: [{ name: openvino }] } }').message)
      .toMatch(/optimization\.execution_accelerators: is a Triton setting/);
    expect(errorOf('backend: tensorrt').message).toMatch(/backend: shoal runs models on onnxruntime only/);
  });

  it('default_model_filename must stay inside the version directory', () => {
    expect(errorOf('default_model_filename: ../other/model.onnx').message).toMatch(/default_model_filename: must be a plain file name/);
  });
});
