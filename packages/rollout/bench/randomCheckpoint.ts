// Writes a randomly initialised Mistral checkpoint (HF names and layout) at the
// shared "small" shape, so the bench loads it through the public loadCausalLM contract.
import { Rng } from '@remax/core';
import { createCausalLM, SMALL_MISTRAL_CONFIG } from '@remax/model-mistral';

/** The "small" benchmark shape of this project (19.3M parameters), from @remax/model-mistral. */
export const SMALL = SMALL_MISTRAL_CONFIG;

export async function writeRandomCheckpoint(
  dir: string,
  config: typeof SMALL,
  seed: number,
): Promise<void> {
  const model = createCausalLM(config, { rng: Rng.fromSeed(seed) });
  try {
    await model.save(dir, { dtype: 'float32' });
  } finally {
    model.dispose();
  }
}
