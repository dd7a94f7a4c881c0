import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/server.js';

export interface ExampleServer {
  server: RunningServer;
  /** Stops the server and removes its repository. */
  close(): Promise<void>;
}

/**
 * An in-process server on a free loopback port over a fresh repository holding copies of the
 * named example models (from the repository test/global-setup.ts writes, `inject('exampleRepository')`).
 */
export async function serveExamples(exampleRepository: string, models: readonly string[]): Promise<ExampleServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-examples-'));
  for (const m of models) await cp(path.join(exampleRepository, m), path.join(dir, m), { recursive: true });
  const server = await startServer({ modelRepository: dir, httpPort: 0, logLevel: 'silent' });
  return {
    server,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * For a describe block: serves the named example models before its tests and stops the server
 * after them. Read `url` inside tests (it is set once beforeAll has run).
 */
export function useExampleServer(models: readonly string[]): { readonly url: string } {
  let examples: ExampleServer | undefined;
  beforeAll(async () => {
    examples = await serveExamples(inject('exampleRepository'), models);
  });
  afterAll(async () => {
    await examples?.close();
  });
  return {
    get url(): string {
      if (!examples) throw new Error('the example server is not started yet: read url inside a test');
      return examples.server.url;
    },
  };
}
