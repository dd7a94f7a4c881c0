import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { shapeMatches } from '../../src/core/tensor.js';
import { GENERATED, PRETRAINED, SEQUENCE_EXAMPLE, pretrainedPath, writeExampleRepository } from '../../src/onnx/examples.js';

/** Triton config datatype → onnxruntime tensor type. */
const ORT_TYPE: Record<string, ort.Tensor.Type> = {
  TYPE_BOOL: 'bool', TYPE_UINT8: 'uint8', TYPE_UINT16: 'uint16', TYPE_UINT32: 'uint32', TYPE_UINT64: 'uint64',
  TYPE_INT8: 'int8', TYPE_INT16: 'int16', TYPE_INT32: 'int32', TYPE_INT64: 'int64',
  TYPE_FP16: 'float16', TYPE_FP32: 'float32', TYPE_FP64: 'float64', TYPE_STRING: 'string',
};

interface ConfigTensor { name: string; data_type: string; dims: number[] }
interface Config { name: string; backend: string; max_batch_size: number; input: ConfigTensor[]; output: ConfigTensor[] }

/** A tensor of `type` and `shape` holding small valid values (0 and 1 suit token ids and masks alike). */
function sample(type: ort.Tensor.Type, shape: number[]): ort.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const ints = Array.from({ length: n }, (_, i) => i % 2);
  switch (type) {
    case 'string': return new ort.Tensor('string', ints.map(String), shape);
    case 'bool': return new ort.Tensor('bool', Uint8Array.from(ints), shape);
    case 'float16': return new ort.Tensor('float16', Uint16Array.from(ints, (v) => v * 0x3c00), shape);
    case 'int64': return new ort.Tensor('int64', BigInt64Array.from(ints, BigInt), shape);
    case 'uint64': return new ort.Tensor('uint64', BigUint64Array.from(ints, BigInt), shape);
    case 'float32': return new ort.Tensor('float32', Float32Array.from(ints), shape);
    case 'float64': return new ort.Tensor('float64', Float64Array.from(ints), shape);
    case 'int8': return new ort.Tensor('int8', Int8Array.from(ints), shape);
    case 'int16': return new ort.Tensor('int16', Int16Array.from(ints), shape);
    case 'int32': return new ort.Tensor('int32', Int32Array.from(ints), shape);
    case 'uint8': return new ort.Tensor('uint8', Uint8Array.from(ints), shape);
    case 'uint16': return new ort.Tensor('uint16', Uint16Array.from(ints), shape);
    case 'uint32': return new ort.Tensor('uint32', Uint32Array.from(ints), shape);
    default: throw new Error(`no sample for ${type}`);
  }
}

async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(relative(dir, path).split(sep).join('/'), await readFile(path));
    }
  }
  return files;
}

const temps: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-examples-'));
  temps.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

describe('writeExampleRepository', () => {
  let repo: string;
  let names: string[];
  beforeAll(async () => {
    repo = await tempDir();
    names = await writeExampleRepository(repo, { seed: 7 });
  });

  it('writes every model as <model>/1/model.onnx, with config.yaml for generated models only', async () => {
    expect(names).toEqual([
      'add_sub', 'identity', 'identity_fp32', 'mlp', 'cnn', 'text_encoder', 'ocr_det', 'ocr_rec', 'ocr_cls', 'silero_vad', 'silero_vad_stream',
    ]);
    expect((await readdir(repo)).sort()).toEqual([...names].sort());
    for (const name of names) {
      expect(existsSync(join(repo, name, '1', 'model.onnx')), name).toBe(true);
      expect(existsSync(join(repo, name, 'config.yaml')), name).toBe(GENERATED.some((g) => g.name === name) || name === SEQUENCE_EXAMPLE.name);
    }
    const addSub = YAML.parse(await readFile(join(repo, 'add_sub', 'config.yaml'), 'utf8')) as Config;
    expect(addSub).toEqual({
      name: 'add_sub', backend: 'onnxruntime', max_batch_size: 8,
      input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [16] }, { name: 'INPUT1', data_type: 'TYPE_FP32', dims: [16] }],
      output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [16] }, { name: 'OUTPUT1', data_type: 'TYPE_FP32', dims: [16] }],
      instance_group: [{ count: 1, kind: 'KIND_CPU' }],
    });
  });

  it('copies the pretrained models unchanged', async () => {
    for (const p of PRETRAINED) {
      const copy = await readFile(join(repo, p.name, '1', 'model.onnx'));
      expect(copy.equals(await readFile(await pretrainedPath(p))), p.name).toBe(true);
    }
  });

  it('writes byte-identical files for the same seed, and new weights for another', async () => {
    const again = await tempDir();
    const other = await tempDir();
    await writeExampleRepository(again, { seed: 7, includePretrained: false });
    await writeExampleRepository(other, { seed: 8, includePretrained: false });
    const [first, second, third] = await Promise.all([repo, again, other].map(filesUnder));
    for (const [path, bytes] of second!) expect(bytes.equals(first!.get(path)!), path).toBe(true);
    const changed = [...third!].filter(([path, bytes]) => !bytes.equals(first!.get(path)!)).map(([path]) => path);
    // Only models with weights depend on the seed; configs never do.
    expect(changed.sort()).toEqual(['cnn/1/model.onnx', 'mlp/1/model.onnx', 'text_encoder/1/model.onnx']);
  });

  it('overwrites an existing repository in place', async () => {
    await expect(writeExampleRepository(repo, { seed: 7 })).resolves.toEqual(names);
  });

  it.each(GENERATED.map((g) => g.name))('%s: config agrees with the model file, and runs at the declared shapes', async (name) => {
    const config = YAML.parse(await readFile(join(repo, name, 'config.yaml'), 'utf8')) as Config;
    const session = await ort.InferenceSession.create(join(repo, name, '1', 'model.onnx'));
    const batch = config.max_batch_size > 0 ? [-1] : [];
    const declared = (dims: number[]) => [...batch, ...dims];
    const check = (tensors: ConfigTensor[], metadata: readonly ort.InferenceSession.ValueMetadata[]) => {
      expect(metadata.map((m) => m.name)).toEqual(tensors.map((t) => t.name));
      tensors.forEach((t, i) => {
        const m = metadata[i]!;
        if (!m.isTensor) throw new Error(`${t.name} is not a tensor`);
        expect(m.type, t.name).toBe(ORT_TYPE[t.data_type]);
        expect(m.shape.map((d) => (typeof d === 'string' ? -1 : d)), t.name).toEqual(declared(t.dims));
      });
    };
    check(config.input, session.inputMetadata);
    check(config.output, session.outputMetadata);

    // Batch of 2 where batching is allowed; every dynamic dim 3.
    const concrete = (dims: number[]) => declared(dims).map((d, i) => (d !== -1 ? d : i === 0 && batch.length ? 2 : 3));
    const feeds = Object.fromEntries(config.input.map((t) => [t.name, sample(ORT_TYPE[t.data_type]!, concrete(t.dims))]));
    const out = await session.run(feeds);
    for (const t of config.output) {
      expect(out[t.name]!.dims, t.name).toEqual(concrete(t.dims));
    }
  });

  const pretrainedInputs: Record<string, Record<string, number[]>> = {
    ocr_det: { x: [1, 3, 64, 64] },
    ocr_rec: { x: [1, 3, 48, 64] },
    ocr_cls: { x: [1, 3, 48, 192] },
    silero_vad: { input: [1, 512], state: [2, 1, 128], sr: [] },
  };

  it.each(PRETRAINED.map((p) => p.name))('%s: loads and runs, outputs fit its metadata', async (name) => {
    const session = await ort.InferenceSession.create(join(repo, name, '1', 'model.onnx'));
    const feeds: Record<string, ort.Tensor> = {};
    for (const m of session.inputMetadata) {
      if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
      const shape = pretrainedInputs[name]![m.name]!;
      expect(shapeMatches(shape, m.shape.map((d) => (typeof d === 'string' ? -1 : d))), m.name).toBe(true);
      // Silero's `sr` is the sample rate; everything else is signal.
      feeds[m.name] = m.type === 'int64' ? new ort.Tensor('int64', BigInt64Array.of(16000n), shape) : sample(m.type, shape);
    }
    const out = await session.run(feeds);
    for (const m of session.outputMetadata) {
      if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
      const declared = m.shape.map((d) => (typeof d === 'string' ? -1 : d));
      expect(shapeMatches(out[m.name]!.dims, declared), `${m.name} [${out[m.name]!.dims}] vs [${declared}]`).toBe(true);
    }
  });
});
