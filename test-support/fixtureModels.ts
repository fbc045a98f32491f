// tiny-mistral-swa and its perturbed reference-policy (fixtures/models/), the
// pair every algorithm's float64-reference test runs, held for one test file.

import { afterAll, beforeAll } from 'vitest';
import { initBackend } from '../packages/core/src/index.js';

/**
 * The policy and reference, loaded by `load` (model-mistral's loadCausalLM;
 * passed in so test-support needs no model package) before the file's tests
 * and freed after them. Read the fields inside tests, not at import.
 */
export function fixtureModels<M extends { dispose(): void }>(
  fixtures: string,
  load: (dir: string) => Promise<M>,
): { policy: M; reference: M } {
  const models = {} as { policy: M; reference: M };
  beforeAll(async () => {
    await initBackend();
    models.policy = await load(`${fixtures}models/tiny-mistral-swa`);
    models.reference = await load(`${fixtures}models/tiny-mistral-swa/reference-policy`);
  });
  afterAll(() => {
    models.policy?.dispose();
    models.reference?.dispose();
  });
  return models;
}
