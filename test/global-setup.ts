import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { writeExampleRepository } from '../src/onnx/examples.js';

declare module 'vitest' {
  export interface ProvidedContext {
    exampleRepository: string;
  }
}

/** Writes the example model repository once for the whole run; test files read it, never change it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-examples-'));
  await writeExampleRepository(dir);
  project.provide('exampleRepository', dir);
  return () => rm(dir, { recursive: true, force: true });
}
