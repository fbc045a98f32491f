import { customOp, tf } from '@remax/core';
import { allocate, onHost, view } from './hostTensors.js';

/** cos and sin of the rotary angles at given positions, [N, hD/2] row-major each. */
export interface RopeTables {
  n: number;
  half: number;
  cos: Float32Array;
  sin: Float32Array;
}

/**
 * RoPE tables in the HF rotate_half layout: for i < hD/2, inv_freq_i = theta^(-2i/hD),
 * angle = pos * inv_freq_i (the same angle serves both halves).
 * Computed in float64 in JS, then rounded to float32.
 */
export function ropeTables(positions: Int32Array, headDim: number, theta: number): RopeTables {
  const half = headDim / 2;
  const n = positions.length;
  const cos = new Float32Array(n * half);
  const sin = new Float32Array(n * half);
  const invFreq = Array.from({ length: half }, (_, i) => theta ** (-(2 * i) / headDim));
  for (let r = 0; r < n; r++) {
    const pos = positions[r] as number;
    for (let i = 0; i < half; i++) {
      const angle = pos * (invFreq[i] as number);
      cos[r * half + i] = Math.cos(angle);
      sin[r * half + i] = Math.sin(angle);
    }
  }
  return { n, half, cos, sin };
}

/**
 * x * cos + rotate_half(x) * sin with rotate_half(x) = [-x2, x1], i.e. per
 * pair (x1, x2) = (x[i], x[i + hD/2]): y1 = x1 c - x2 s, y2 = x2 c + x1 s.
 * x [N, nH, hD] -> [N, nH, hD].
 */
export function applyRope(x: tf.Tensor3D, t: RopeTables): tf.Tensor3D {
  return onHost(x) ? ropeHost(x, t) : ropeOps(x, t);
}

/** One rotation of every (x1, x2) pair; `sign` -1 rotates back (the transpose). */
function rotate(
  src: Float32Array,
  dst: Float32Array,
  t: RopeTables,
  heads: number,
  sign: 1 | -1,
): void {
  const { n, half, cos, sin } = t;
  const hD = 2 * half;
  for (let r = 0; r < n; r++) {
    const tab = r * half;
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * hD;
      for (let i = 0; i < half; i++) {
        const c = cos[tab + i] as number;
        const s = sign * (sin[tab + i] as number);
        const x1 = src[o + i] as number;
        const x2 = src[o + half + i] as number;
        dst[o + i] = x1 * c - x2 * s;
        dst[o + half + i] = x2 * c + x1 * s;
      }
    }
  }
}

/** The host kernel: one pass forward; the gradient is the inverse rotation of dy. */
export function ropeHost(x: tf.Tensor3D, t: RopeTables): tf.Tensor3D {
  const shape = x.shape;
  const op = customOp(([xIn]: [tf.Tensor]) => {
    const out = allocate(shape);
    rotate(view(xIn), view(out), t, shape[1], 1);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor) => {
        const dx = allocate(shape);
        rotate(view(dy), view(dx), t, shape[1], -1);
        return dx;
      },
    };
  });
  return op(x) as tf.Tensor3D;
}

/** The tensor-op version (GPU / native backends; the reference in tests). */
export function ropeOps(x: tf.Tensor3D, t: RopeTables): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, h, d] = x.shape;
    const half = d / 2;
    const c = tf.tensor3d(t.cos, [n, 1, half]);
    const s = tf.tensor3d(t.sin, [n, 1, half]);
    const [x1, x2] = tf.split(x, 2, 2) as [tf.Tensor3D, tf.Tensor3D];
    const y1 = tf.sub(tf.mul(x1, c), tf.mul(x2, s));
    const y2 = tf.add(tf.mul(x2, c), tf.mul(x1, s));
    return tf.reshape(tf.concat([y1, y2], 2), [n, h, d]) as tf.Tensor3D;
  });
}
