/**
 * The example add_sub model loaded from memory on a session worker thread, for the tests that
 * watch what crosses to that thread: loaded before the file's tests, unloaded after them.
 */
import { afterAll, beforeAll } from 'vitest';
import type { BackendSession } from '../../src/backends/backend.js';
import { OnnxBackend, type OnnxBackendOptions } from '../../src/backends/onnx/onnx-backend.js';
import { addSub } from '../../src/onnx/examples/add-sub.js';

export function addSubOnWorker(options: OnnxBackendOptions = {}): () => BackendSession {
  const backend = new OnnxBackend({ placement: () => 'worker', spareWorkers: 0, ...options });
  let session: BackendSession;
  beforeAll(async () => {
    session = await backend.load({ path: 'add_sub (in memory)', bytes: addSub.build(1), intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  });
  afterAll(async () => {
    await session.unload();
    await backend.close();
  });
  return () => session;
}
