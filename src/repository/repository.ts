import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { invalid } from '../core/errors.js';
import type { VersionPolicy } from '../core/model-config.js';
import { CONFIG_FILE_NAMES, DEFAULT_MODEL_FILENAME, defaultPartialConfig, parseModelConfig, type PartialConfig } from './config.js';
import { isSafeName, isVersionName } from './names.js';

/**
 * The model repository on disk, Triton's layout:
 *
 *   <root>/<model>/config.yaml            (or config.yml / config.json; optional)
 *   <root>/<model>/<version>/model.onnx   (or config's default_model_filename)
 *
 * Scanning never opens a model file and never throws for one model's problem: the problem
 * becomes that model's `error`, so one broken directory cannot keep the others from serving.
 * Only this file does I/O; choosing files and versions are pure functions below.
 */

export interface ModelVersionFile {
  /** Positive integer in decimal digits. */
  version: string;
  /** Path of the model file (root joined with names read from the directory listing only). */
  modelFile: string;
}

export interface RepositoryModel {
  name: string;
  dir: string;
  /** Path of the config file, when the model has one. */
  configFile?: string;
  /** The parsed config; defaults when there is no config file; absent when it is invalid. */
  config?: PartialConfig;
  /** The versions the version policy selects, ascending; empty when `error` is set. */
  versions: ModelVersionFile[];
  /** Why the model cannot be served; it is then UNAVAILABLE. */
  error?: string;
}

/** Every model directory under `root`, sorted by name. Throws only if `root` cannot be listed. */
export async function scanRepository(root: string): Promise<RepositoryModel[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (e) {
    throw invalid(`cannot read model repository ${root}: ${(e as Error).message}`);
  }
  // Hidden entries are editor and VCS litter; unsafe names are never joined into a path.
  const names = entries.filter((n) => isSafeName(n) && !n.startsWith('.'));
  const dirs = await Promise.all(names.map(async (n) => ((await isDirectory(path.join(root, n))) ? n : undefined)));
  const models = await Promise.all(dirs.filter((n): n is string => n !== undefined).map((n) => scanModel(root, n)));
  return models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function scanModel(root: string, name: string): Promise<RepositoryModel> {
  const dir = path.join(root, name);
  const model: RepositoryModel = { name, dir, versions: [] };
  try {
    const entries = await readdir(dir);
    const choice = chooseConfigFile(entries);
    if ('error' in choice) return { ...model, error: `${dir}: ${choice.error}` };
    let config = defaultPartialConfig(name);
    if (choice.file) {
      model.configFile = path.join(dir, choice.file);
      config = parseModelConfig(await readFile(model.configFile, 'utf8'), model.configFile, name);
    }
    model.config = config;

    const fileName = config.default_model_filename ?? DEFAULT_MODEL_FILENAME;
    const found = await findVersions(dir, entries, fileName);
    if (found.size === 0) return { ...model, error: `${dir}: no version directory with ${fileName}` };
    let chosen: number[];
    try {
      chosen = applyVersionPolicy([...found.keys()], config.version_policy);
    } catch (e) {
      return { ...model, error: `${model.configFile ?? dir}: ${(e as Error).message}` };
    }
    model.versions = chosen.map((v) => ({ version: String(v), modelFile: found.get(v)! }));
    return model;
  } catch (e) {
    return { ...model, error: (e as Error).message };
  }
}

/** Version number → model file, for the version directories that hold the model file. */
async function findVersions(dir: string, entries: readonly string[], fileName: string): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  await Promise.all(entries.filter(isVersionName).map(async (v) => {
    const file = await modelFileIn(path.join(dir, v), fileName);
    if (file) found.set(Number(v), file);
  }));
  return found;
}

/**
 * The model file of one version directory. As in Triton, the model "file" may be a directory
 * holding model.onnx (models with external weight files are often kept that way).
 */
async function modelFileIn(versionDir: string, fileName: string): Promise<string | undefined> {
  const file = path.join(versionDir, fileName);
  const s = await stat(file).catch(() => undefined);
  if (s?.isFile()) return file;
  if (s?.isDirectory()) {
    const inner = path.join(file, DEFAULT_MODEL_FILENAME);
    if ((await stat(inner).catch(() => undefined))?.isFile()) return inner;
  }
  return undefined;
}

async function isDirectory(p: string): Promise<boolean> {
  // stat, not the dirent type: a model directory may well be a symlink.
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** Which config file of a model directory to read, given the directory's entries. */
export function chooseConfigFile(entries: readonly string[]): { file?: string } | { error: string } {
  const present = CONFIG_FILE_NAMES.filter((n) => entries.includes(n));
  if (present.length > 1) return { error: `several config files (${present.join(', ')}); keep one` };
  if (present.length === 1) return { file: present[0] };
  if (entries.includes('config.pbtxt')) {
    return { error: 'config.pbtxt is not supported yet; write the configuration as config.yaml or config.json (Triton field names work)' };
  }
  return {};
}

/**
 * The versions a policy serves, ascending, out of those available. Throws invalid_argument
 * (message without a file name) when a specific version is missing.
 */
export function applyVersionPolicy(available: readonly number[], policy: VersionPolicy): number[] {
  const sorted = [...new Set(available)].sort((a, b) => a - b);
  if ('latest' in policy) return sorted.slice(-policy.latest.num_versions);
  if ('specific' in policy) {
    const missing = policy.specific.versions.filter((v) => !sorted.includes(v));
    if (missing.length > 0) {
      throw invalid(`version_policy.specific: version${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found (available: ${sorted.join(', ') || 'none'})`);
    }
    return sorted.filter((v) => policy.specific.versions.includes(v));
  }
  return sorted;
}
