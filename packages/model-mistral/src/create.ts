import { type Rng, tf } from '@remax/core';
import { CausalLM, type CausalLMOptions } from './causalLM.js';
import { type CausalLMConfig, dimsOf, parseCausalLMConfig } from './config.js';
import { expectedShapes } from './weights.js';

export interface CreateOptions extends CausalLMOptions {
  /** Caller-owned seeded RNG for the initial weights. */
  rng: Rng;
  /** Std of the normal init of matrices (HF initializer_range, default 0.02); norms start at 1. */
  initStd?: number;
  withLMHead?: boolean;
  /** Extra named tensors (e.g. {'regression_head.weight': [1, hidden]}), initialised like matrices, in `extra`. */
  extraTensors?: Record<string, number[]>;
}

/**
 * A freshly initialised model for a config (HF keys verbatim, validated), e.g. to
 * test or benchmark without a checkpoint: matrices ~ N(0, initStd²), norm weights 1.
 */
export function createCausalLM(config: unknown, options: CreateOptions): CausalLM {
  const cfg: CausalLMConfig = parseCausalLMConfig(config);
  const std =
    options.initStd ??
    (typeof cfg['initializer_range'] === 'number' ? cfg['initializer_range'] : 0.02);
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of expectedShapes(
    dimsOf(cfg),
    options.withLMHead ?? true,
    cfg.tie_word_embeddings,
  )) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (shape.length === 1) data.fill(1);
    else for (let i = 0; i < n; i++) data[i] = options.rng.nextNormal() * std;
    params.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(data, shape, 'float32'), true)),
    );
  }
  const extra = new Map<string, tf.Variable>();
  for (const [name, shape] of Object.entries(options.extraTensors ?? {})) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = options.rng.nextNormal() * std;
    extra.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(data, shape, 'float32'), true)),
    );
  }
  return new CausalLM(cfg, params, extra, options);
}
