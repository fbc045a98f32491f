import { RemaxError, tf } from '@remax/core';
import type { CausalLM } from '../causalLM.js';

/**
 * Folds every adapter into its base weight, W' = W + scaling * (B @ A) (PEFT's merge /
 * merge_and_unload), then removes the adapters: the model is an ordinary one again (its
 * weights trainable, save() writes a plain HF checkpoint).
 */
export function mergeAdapters(model: CausalLM): void {
  const set = model.adapters;
  if (set === null) {
    throw new RemaxError('E_STATE', 'mergeAdapters: the model has no adapters', {
      expected: 'addLoRA() or loadAdapter() first',
    });
  }
  const params = model.parameters();
  for (const [module, { A, B }] of set.pairs) {
    const w = params.get(`${module}.weight`);
    if (w === undefined) throw new RemaxError('E_STATE', 'no base weight', { field: module });
    tf.tidy(() => w.assign(tf.add(w, tf.mul(tf.matMul(B, A), set.scaling))));
  }
  model.detachAdapters()?.dispose();
}
