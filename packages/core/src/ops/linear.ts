import { tf } from '../tf.js';
import { customOp } from './customOp.js';

/**
 * y = x · wT for x [N, in] and wT [in, out], as ONE plain 2-D matMul.
 *
 * Why a custom gradient: the gradient tfjs derives for matMul uses the
 * transpose flags (`x · Wᵀ`, `xᵀ · dy`), which on the wasm backend fall off
 * XNNPACK onto a scalar loop (15-100x slower, see docs/performance.md). Here the
 * backward transposes explicitly and calls plain matMuls only:
 *   dx  = dy · transpose(wT)        [N, out] · [out, in]
 *   dwT = transpose(x) · dy         [in, N] · [N, out]
 */
export function linear(x: tf.Tensor2D, wT: tf.Tensor2D): tf.Tensor2D {
  const op = customOp(([xIn, wIn]: [tf.Tensor, tf.Tensor], save) => {
    const x2 = xIn as tf.Tensor2D;
    const w2 = wIn as tf.Tensor2D;
    save([x2, w2]);
    return {
      value: tf.matMul(x2, w2),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dy2 = dy as tf.Tensor2D;
        return [tf.matMul(dy2, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy2)];
      },
    };
  });
  return op(x, wT) as tf.Tensor2D;
}
