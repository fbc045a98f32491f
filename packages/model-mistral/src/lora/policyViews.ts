import type { LogprobsOptions, Policy, TokenBatch, tf } from '@remax/core';
import type { CausalLM } from '../causalLM.js';

/**
 * The policy an RL algorithm trains when `model` has LoRA adapters: the adapted model,
 * with parameters() = the adapter tensors (by PEFT key), so an optimizer built from
 * `policy.parameters()` holds only those (and their AdamW moments).
 */
export function adapterPolicy(model: CausalLM): Policy {
  return {
    forward: (b: TokenBatch) => model.forward(b),
    logprobsOf: (b: TokenBatch, o?: LogprobsOptions) => model.logprobsOf(b, o),
    hiddenStates: (b: TokenBatch) => model.hiddenStates(b),
    headLogits: (h: tf.Tensor2D) => model.headLogits(h),
    parameters: () => model.adapterParameters(),
    get vocabSize() {
      return model.vocabSize;
    },
  };
}

/**
 * The frozen reference policy of the KL penalty for free: the same model with its
 * adapters switched off for each call (the base weights; no second copy). It has no
 * trainable parameters.
 */
export function adaptersDisabledPolicy(model: CausalLM): Policy {
  const off = <R>(fn: () => R): R => model.withAdaptersDisabled(fn);
  return {
    forward: (b: TokenBatch) => off(() => model.forward(b)),
    logprobsOf: (b: TokenBatch, o?: LogprobsOptions) => off(() => model.logprobsOf(b, o)),
    hiddenStates: (b: TokenBatch) => off(() => model.hiddenStates(b)),
    headLogits: (h: tf.Tensor2D) => off(() => model.headLogits(h)),
    parameters: () => new Map(),
    get vocabSize() {
      return model.vocabSize;
    },
  };
}
