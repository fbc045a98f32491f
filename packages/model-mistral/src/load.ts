import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemaxError, tf } from '@remax/core';
import { openCheckpoint } from '@remax/safetensors';
import { CausalLM, type CausalLMOptions } from './causalLM.js';
import { dimsOf, parseCausalLMConfig } from './config.js';
import { checkTensorSet, expectedShapes, IGNORED_BUFFER } from './weights.js';

export interface LoadOptions extends CausalLMOptions {
  /** Compute dtype; only float32 (bf16/f16 checkpoints are widened exactly). */
  dtype?: 'float32';
  /** Default true; false for reward/value backbones (lm_head.weight is then not loaded even if present). */
  withLMHead?: boolean;
  /** Further tensors to load by name into `model.extra`, e.g. ['regression_head.weight']. */
  extraTensors?: string[];
}

/**
 * Loads a Hugging Face checkpoint folder unchanged: config.json (MistralConfig or
 * LlamaConfig) and the weights (.safetensors single/sharded or PyTorch .bin).
 * Missing, unexpected or mis-shaped tensors are reported together in one error.
 */
export async function loadCausalLM(dir: string, options: LoadOptions = {}): Promise<CausalLM> {
  if (options.dtype !== undefined && options.dtype !== 'float32') {
    throw new RemaxError('E_UNSUPPORTED', 'unsupported compute dtype', {
      field: 'dtype',
      value: options.dtype,
      expected: "'float32'",
    });
  }
  const configFile = join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(configFile, 'utf8'));
  } catch (cause) {
    throw new RemaxError('E_FILE', 'cannot read config.json', { file: configFile, cause });
  }
  const config = parseCausalLMConfig(raw, configFile);
  const withLMHead = options.withLMHead ?? true;
  const extraNames = options.extraTensors ?? [];
  const expected = expectedShapes(dimsOf(config), withLMHead, config.tie_word_embeddings);

  const ckpt = await openCheckpoint(dir);
  const params = new Map<string, tf.Variable>();
  const extra = new Map<string, tf.Variable>();
  try {
    const offered = new Map(ckpt.names().map((n) => [n, ckpt.info(n).shape] as const));
    checkTensorSet(
      offered,
      expected,
      extraNames,
      (n) => IGNORED_BUFFER.test(n) || (!withLMHead && n === 'lm_head.weight'),
      ckpt.path,
    );
    for (const name of [...expected.keys(), ...extraNames]) {
      const data = (await ckpt.read(name, { as: 'float32' })) as Float32Array;
      const shape = offered.get(name) as number[];
      // tidy frees the source tensor; the variable keeps the data
      const v = tf.tidy(() => tf.variable(tf.tensor(data, shape, 'float32'), true));
      (expected.has(name) ? params : extra).set(name, v);
    }
  } catch (e) {
    for (const v of [...params.values(), ...extra.values()]) v.dispose();
    throw e;
  } finally {
    await ckpt.close();
  }
  return new CausalLM(config, params, extra, options);
}
