import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@remax/core';
import { createCausalLM, SMALL_LLAMA_CONFIG } from '@remax/model-mistral';

/** The "small" shape every @remax bench uses (from @remax/model-mistral). */
export const SMALL = SMALL_LLAMA_CONFIG;

/**
 * Writes a LlamaRewardModel directory at the small shape with seeded random
 * weights (normal * 0.02, norms 1) and the Llama tokenizer; returns its path.
 */
export async function writeSmallRewardModel(seed: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'remax-ultrarm-small-'));
  const model = createCausalLM(SMALL, {
    rng: Rng.fromSeed(seed),
    withLMHead: false,
    extraTensors: { 'regression_head.weight': [1, SMALL.hidden_size] },
  });
  try {
    await model.save(dir, { dtype: 'float32' });
  } finally {
    model.dispose();
  }
  const tokenizer = fileURLToPath(
    new URL('../../../fixtures/models/tiny-ultrarm/tokenizer.model', import.meta.url),
  );
  copyFileSync(tokenizer, join(dir, 'tokenizer.model'));
  return dir;
}
