import { customOp, tf } from '@remax/core';
import type { ComputeCopies } from '../hfLinear.js';
import type { LoraPair } from './adapterSet.js';

/**
 * PEFT lora.Linear as ONE op: y = x Wᵀ + s · ((x Aᵀ) Bᵀ) for x [N, in], a frozen W
 * [out, in], A [r, in], B [out, r]. Why fused: built from separate ops, the tape would
 * keep both [N, out] addends of the sum for every adapted projection (tf.add saves its
 * inputs); here the backward keeps only x (which the model keeps anyway) and
 * u = x Aᵀ [N, r]. Every matMul is plain 2-D, and only small tensors are transposed:
 *   du = s · dy B                  [N, out] · [out, r]
 *   dB = s · (uᵀ dy)ᵀ              [r, N] · [N, out], transposed [r, out] -> [out, r]
 *   dA = duᵀ x                     [r, N] · [N, in]
 *   dx = dy W + du A               W frozen: no [out, in] gradient
 */
export function loraLinear(
  x: tf.Tensor2D,
  w: tf.Variable,
  pair: LoraPair,
  scaling: number,
  copies: ComputeCopies,
): tf.Tensor2D {
  const op = customOp(([xIn, aIn, bIn]: [tf.Tensor, tf.Tensor, tf.Tensor], save) => {
    const x2 = xIn as tf.Tensor2D;
    const a = aIn as tf.Tensor2D;
    const b = bIn as tf.Tensor2D;
    const u = tf.matMul(x2, tf.transpose(a)); // [N, r]
    save([x2, a, b, u]);
    const value = tf.add(
      tf.matMul(x2, copies.transposed(w)),
      tf.matMul(tf.mul(u, scaling) as tf.Tensor2D, tf.transpose(b)),
    );
    return {
      value,
      // tidy: tfjs keeps every tensor of the backward alive until it ends, so the
      // [N, in] partial products must not outlive this op
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, as, bs, us] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
          const dy2 = dy as tf.Tensor2D;
          const du = tf.mul(tf.matMul(dy2, bs), scaling) as tf.Tensor2D; // [N, r]
          const dB = tf.mul(tf.transpose(tf.matMul(tf.transpose(us), dy2)), scaling);
          const dA = tf.matMul(tf.transpose(du), xs);
          const dx = tf.add(tf.matMul(dy2, w as tf.Tensor2D), tf.matMul(du, as));
          return [dx, dA, dB];
        }),
    };
  });
  return op(x, pair.A, pair.B) as tf.Tensor2D;
}
