import { tf } from '@remax/core';

/** cos and signed sin tables for rotary embeddings at given positions, [N, 1, hD] each. */
export interface RopeTables {
  cos: tf.Tensor3D;
  /** sin with the first half negated: rotate_half(x) * sin == reverseHalves(x) * sinSigned. */
  sinSigned: tf.Tensor3D;
}

/**
 * RoPE tables in the HF rotate_half layout: for i < hD/2, inv_freq_i = theta^(-2i/hD),
 * angle = pos * inv_freq_i, and the angle is repeated for the two halves.
 * Computed in float64 in JS, then rounded to float32.
 */
export function ropeTables(positions: Int32Array, headDim: number, theta: number): RopeTables {
  const half = headDim / 2;
  const n = positions.length;
  const cos = new Float32Array(n * headDim);
  const sin = new Float32Array(n * headDim);
  for (let r = 0; r < n; r++) {
    const pos = positions[r] as number;
    for (let i = 0; i < half; i++) {
      const angle = pos * theta ** (-(2 * i) / headDim);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[r * headDim + i] = c;
      cos[r * headDim + half + i] = c;
      sin[r * headDim + i] = -s;
      sin[r * headDim + half + i] = s;
    }
  }
  return {
    cos: tf.tensor3d(cos, [n, 1, headDim]),
    sinSigned: tf.tensor3d(sin, [n, 1, headDim]),
  };
}

/**
 * x * cos + rotate_half(x) * sin with rotate_half(x) = [-x2, x1].
 * x [N, nH, hD] -> [N, nH, hD]. The halves are swapped with one reverse on a
 * [N, nH, 2, hD/2] view; the sign lives in sinSigned.
 */
export function applyRope(x: tf.Tensor3D, t: RopeTables): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, h, d] = x.shape;
    const swapped = tf.reshape(tf.reverse(tf.reshape(x, [n, h, 2, d / 2]), 2), [n, h, d]); // [x2, x1]
    return tf.add(tf.mul(x, t.cos), tf.mul(swapped, t.sinSigned)) as tf.Tensor3D;
  });
}
