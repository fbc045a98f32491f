import { customOp, tf } from '@remax/core';

/**
 * Transposed compute copies ([in, out]) of Hugging Face linear weights ([out, in]).
 *
 * Why: on wasm only a plain, non-transposed 2-D matMul is fast (docs/performance.md),
 * so `x · Wᵀ` needs Wᵀ materialised. The variable itself stays in HF layout (so
 * parameters() and gradients have HF shapes); the copy is rebuilt when the
 * variable's data changes (Variable.assign gives it a new dataId), i.e. once
 * per optimizer step, and reused otherwise (XNNPACK also caches its packing
 * per tensor).
 */
export class ComputeCopies {
  private readonly copies = new Map<tf.Variable, { dataId: object; wT: tf.Tensor2D }>();

  /** Wᵀ [in, out] for w [out, in]; the returned tensor is owned by this cache. */
  transposed(w: tf.Variable): tf.Tensor2D {
    const hit = this.copies.get(w);
    if (hit && hit.dataId === w.dataId) return hit.wT;
    hit?.wT.dispose();
    const wT = tf.keep(tf.tidy(() => tf.transpose(w as tf.Tensor2D) as tf.Tensor2D));
    this.copies.set(w, { dataId: w.dataId, wT });
    return wT;
  }

  dispose(): void {
    for (const { wT } of this.copies.values()) wT.dispose();
    this.copies.clear();
  }
}

/**
 * y = x · Wᵀ for x [N, in] and an HF weight W [out, in] -> [N, out], with every
 * matMul plain and 2-D, forward and backward:
 *   forward  y  = x · copy(Wᵀ)
 *   backward dx = dy · W                                   [N, out] · [out, in]
 *            dW = dyᵀ · x  or  (xᵀ · dy)ᵀ, whichever transposes fewer elements
 */
export function linearHF(x: tf.Tensor2D, w: tf.Variable, copies: ComputeCopies): tf.Tensor2D {
  const op = customOp(([xIn, wIn]: [tf.Tensor, tf.Tensor], save) => {
    const x2 = xIn as tf.Tensor2D;
    save([x2, wIn]);
    return {
      value: tf.matMul(x2, copies.transposed(w)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dy2 = dy as tf.Tensor2D;
        const [n, inDim] = xs.shape;
        const outDim = ws.shape[0];
        const dx = tf.matMul(dy2, ws);
        const dW =
          n * outDim <= n * inDim + inDim * outDim
            ? tf.matMul(tf.transpose(dy2), xs)
            : tf.transpose(tf.matMul(tf.transpose(xs), dy2));
        return [dx, dW];
      },
    };
  });
  return op(x, w) as tf.Tensor2D;
}

/**
 * y = x · Wᵀ with W frozen (LoRA's base weights): the gradient flows to x only
 * (dx = dy · W), so no [out, in] weight gradient is ever computed or held.
 */
export function linearHFFrozen(x: tf.Tensor2D, w: tf.Variable, copies: ComputeCopies): tf.Tensor2D {
  const op = customOp(([xIn]: [tf.Tensor]) => ({
    value: tf.matMul(xIn as tf.Tensor2D, copies.transposed(w)),
    gradFunc: (dy: tf.Tensor) => [tf.matMul(dy as tf.Tensor2D, w as tf.Tensor2D)],
  }));
  return op(x) as tf.Tensor2D;
}
