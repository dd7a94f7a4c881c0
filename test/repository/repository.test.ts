import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShoalError } from '../../src/core/errors.js';
import { applyVersionPolicy, chooseConfigFile, scanRepository, type RepositoryModel } from '../../src/repository/repository.js';

let root: string;
let models: Map<string, RepositoryModel>;

/** Writes `files` (path → content) under the temp repository; model files are fakes, never opened. */
async function layout(files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, content);
  }
}

const FAKE = 'not really onnx';

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'shoal-repo-'));
  await layout({
    'mlp/config.yaml': 'name: mlp\nmax_batch_size: 4\ninput: [{ name: x, data_type: TYPE_FP32, dims: [3] }]\n',
    'mlp/1/model.onnx': FAKE,
    'mlp/2/model.onnx': FAKE,
    'plain/1/model.onnx': FAKE,
    'broken/config.yaml': 'input:\n  - { name: x\nmax_batch_size: [\n',
    'broken/1/model.onnx': FAKE,
    'typo/config.yaml': 'max_batch_sise: 4\n',
    'typo/1/model.onnx': FAKE,
    'dtype/config.json': '{"input": [{"name": "x", "data_type": "TYPE_FLOAT", "dims": [1]}]}',
    'dtype/1/model.onnx': FAKE,
    'renamed/config.yaml': 'name: other\n',
    'renamed/1/model.onnx': FAKE,
    'empty/config.yaml': '',
    'empty/1/weights.bin': FAKE,
    'empty/README.md': 'no versions here',
    'mixed/1/model.onnx': FAKE,
    'mixed/01/model.onnx': FAKE,
    'mixed/0/model.onnx': FAKE,
    'mixed/v2/model.onnx': FAKE,
    'mixed/latest/model.onnx': FAKE,
    'mixed/-3/model.onnx': FAKE,
    'latest2/config.yaml': 'version_policy: { latest: { num_versions: 2 } }\n',
    'latest2/2/model.onnx': FAKE,
    'latest2/9/model.onnx': FAKE,
    'latest2/10/model.onnx': FAKE,
    'every/config.yml': 'version_policy: { all: {} }\n',
    'every/3/model.onnx': FAKE,
    'every/1/model.onnx': FAKE,
    'some/config.yaml': 'version_policy: { specific: { versions: [1] } }\n',
    'some/1/model.onnx': FAKE,
    'some/2/model.onnx': FAKE,
    'missing/config.yaml': 'version_policy: { specific: { versions: [1, 3] } }\n',
    'missing/1/model.onnx': FAKE,
    'missing/2/model.onnx': FAKE,
    'named/config.yaml': 'default_model_filename: net.onnx\n',
    'named/1/model.onnx': FAKE,
    'named/2/net.onnx': FAKE,
    'external/1/model.onnx/model.onnx': FAKE,
    'external/1/model.onnx/weights.bin': FAKE,
    'triton/config.pbtxt': 'platform: "onnxruntime_onnx"\n',
    'triton/1/model.onnx': FAKE,
    'both/config.yaml': '',
    'both/config.json': '{}',
    'both/1/model.onnx': FAKE,
    // Names the scan must not serve: hidden, odd, or not a directory.
    '.hidden/1/model.onnx': FAKE,
    '..sneaky/1/model.onnx': FAKE,
    'back\\slash/1/model.onnx': FAKE,
    'new\nline/1/model.onnx': FAKE,
    'README.md': 'a file at the top level',
  });
  await symlink(path.join(root, 'plain'), path.join(root, 'linked'));
  await symlink(path.join(root, 'nowhere'), path.join(root, 'dangling'));
  models = new Map((await scanRepository(root)).map((m) => [m.name, m]));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const get = (name: string): RepositoryModel => {
  const m = models.get(name);
  if (!m) throw new Error(`model ${name} not scanned`);
  return m;
};
const versionsOf = (name: string) => get(name).versions.map((v) => v.version);

describe('scanRepository', () => {
  it('lists model directories sorted by name, skipping hidden and unsafe names and plain files', async () => {
    const names = (await scanRepository(root)).map((m) => m.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual([
      'both', 'broken', 'dtype', 'empty', 'every', 'external', 'latest2', 'linked', 'missing', 'mixed',
      'mlp', 'named', 'plain', 'renamed', 'some', 'triton', 'typo',
    ]);
  });

  it('reads a valid model: config, chosen version, model file path', () => {
    const m = get('mlp');
    expect(m.error).toBeUndefined();
    expect(m.dir).toBe(path.join(root, 'mlp'));
    expect(m.configFile).toBe(path.join(root, 'mlp', 'config.yaml'));
    expect(m.config?.max_batch_size).toBe(4);
    expect(m.config?.input).toEqual([{ name: 'x', data_type: 'FP32', dims: [3] }]);
    expect(m.versions).toEqual([{ version: '2', modelFile: path.join(root, 'mlp', '2', 'model.onnx') }]);
  });

  it('gives a model without a config file the defaults', () => {
    const m = get('plain');
    expect(m.error).toBeUndefined();
    expect(m.configFile).toBeUndefined();
    expect(m.config?.version_policy).toEqual({ latest: { num_versions: 1 } });
    expect(m.config?.max_batch_size).toBeUndefined();
    expect(versionsOf('plain')).toEqual(['1']);
  });

  it('follows a symlinked model directory', () => {
    expect(get('linked').error).toBeUndefined();
    expect(get('linked').versions[0]?.modelFile).toBe(path.join(root, 'linked', '1', 'model.onnx'));
  });

  it('records config errors per model, naming the file', () => {
    const cases: Array<[string, RegExp]> = [
      ['broken', /broken\/config\.yaml: line 3, column 1: /],
      ['typo', /typo\/config\.yaml: unknown field "max_batch_sise" \(did you mean "max_batch_size"\?\)/],
      ['dtype', /dtype\/config\.json: input\[0\]\.data_type: unknown datatype "TYPE_FLOAT"/],
      ['renamed', /renamed\/config\.yaml: name: "other" does not match the model directory "renamed"/],
      ['triton', /triton: config\.pbtxt is not supported yet/],
      ['both', /both: several config files \(config\.yaml, config\.json\); keep one/],
    ];
    for (const [name, re] of cases) {
      const m = get(name);
      expect(m.error, name).toMatch(re);
      expect(m.config, name).toBeUndefined();
      expect(m.versions, name).toEqual([]);
    }
  });

  it('needs at least one version directory holding the model file', () => {
    expect(get('empty').error).toBe(`${path.join(root, 'empty')}: no version directory with model.onnx`);
    expect(get('empty').config).toBeDefined();
  });

  it('ignores version directories that are not positive decimal integers', () => {
    expect(get('mixed').error).toBeUndefined();
    expect(versionsOf('mixed')).toEqual(['1']);
  });

  it('applies version policies', () => {
    expect(versionsOf('latest2')).toEqual(['9', '10']); // by number, not by string
    expect(versionsOf('every')).toEqual(['1', '3']);
    expect(versionsOf('some')).toEqual(['1']);
    expect(get('missing').error).toBe(`${path.join(root, 'missing', 'config.yaml')}: version_policy.specific: version 3 not found (available: 1, 2)`);
  });

  it("uses the config's default_model_filename", () => {
    expect(get('named').versions).toEqual([{ version: '2', modelFile: path.join(root, 'named', '2', 'net.onnx') }]);
  });

  it('accepts a model.onnx directory holding model.onnx, as Triton does', () => {
    expect(get('external').versions[0]?.modelFile).toBe(path.join(root, 'external', '1', 'model.onnx', 'model.onnx'));
  });

  it('throws when the root itself cannot be read', async () => {
    await expect(scanRepository(path.join(root, 'does-not-exist'))).rejects.toBeInstanceOf(ShoalError);
    await expect(scanRepository(path.join(root, 'README.md'))).rejects.toThrow(/cannot read model repository/);
  });
});

describe('applyVersionPolicy', () => {
  it('latest N takes the highest numbers', () => {
    expect(applyVersionPolicy([1, 10, 2, 9], { latest: { num_versions: 2 } })).toEqual([9, 10]);
    expect(applyVersionPolicy([5], { latest: { num_versions: 3 } })).toEqual([5]);
  });

  it('all takes every version', () => {
    expect(applyVersionPolicy([3, 1, 2], { all: {} })).toEqual([1, 2, 3]);
  });

  it('specific needs each listed version to exist', () => {
    expect(applyVersionPolicy([1, 2, 3], { specific: { versions: [3, 1] } })).toEqual([1, 3]);
    expect(() => applyVersionPolicy([1, 2], { specific: { versions: [4, 3, 1] } })).toThrow('version_policy.specific: versions 4, 3 not found (available: 1, 2)');
  });
});

describe('chooseConfigFile', () => {
  it('prefers YAML/JSON and refuses pbtxt alone', () => {
    expect(chooseConfigFile(['1', 'config.yaml'])).toEqual({ file: 'config.yaml' });
    expect(chooseConfigFile(['config.json', 'config.pbtxt'])).toEqual({ file: 'config.json' });
    expect(chooseConfigFile(['1'])).toEqual({});
    expect(chooseConfigFile(['config.pbtxt'])).toMatchObject({ error: expect.stringMatching(/config\.pbtxt is not supported yet/) });
  });
});
