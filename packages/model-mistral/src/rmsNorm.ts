import { tf } from '@remax/core';

/** RMSNorm in float32: w * x * rsqrt(mean(x^2) + eps). x [N, H], w [H] -> [N, H]. */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const meanSq = tf.mean(tf.square(x), 1, true); // [N, 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSq, eps))), w) as tf.Tensor2D;
  });
}
