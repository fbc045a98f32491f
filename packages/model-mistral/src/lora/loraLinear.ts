import { linear, tf } from '@remax/core';
import type { LoraPair } from './adapterSet.js';

/**
 * PEFT lora.Linear's update, scaling * ((x Aᵀ) Bᵀ) for x [N, in] -> [N, out]. The
 * transposes are of the small factors ([r, in], [out, r]) so every matMul is plain
 * (the fast wasm path); scaling multiplies the [N, r] intermediate, the smallest.
 */
export function loraDelta(x: tf.Tensor2D, pair: LoraPair, scaling: number): tf.Tensor2D {
  return tf.tidy(() => {
    const u = linear(x, tf.transpose(pair.A) as tf.Tensor2D); // [N, r]
    return linear(tf.mul(u, scaling) as tf.Tensor2D, tf.transpose(pair.B) as tf.Tensor2D);
  });
}
