import { RemaxError } from '../errors.js';
import { fullKLOnHost } from '../kernels/fullKLHost.js';
import { hostView } from '../kernels/hostMemory.js';
import { tf } from '../tf.js';
import { type ChunkOptions, rowChunks } from './chunking.js';
import { customOp } from './customOp.js';

/**
 * Full-vocabulary KL per position: KL[b, t] = sum_v p_v (log p_v - log q_v),
 * p = softmax(policyLogits[b, t]), q = softmax(refLogits[b, t]).
 *
 * [B, T, V] x2 -> [B, T]. Chunked over rows with a custom gradient, so no
 * [B, T, V] log-softmax is held: d/dx_k = p_k (log p_k - log q_k - KL) for the
 * policy logits and q_k - p_k for the reference logits.
 */
export function fullKL(
  policyLogits: tf.Tensor3D,
  refLogits: tf.Tensor3D,
  options: ChunkOptions = {},
): tf.Tensor2D {
  const [B, T, V] = policyLogits.shape;
  if (refLogits.shape.join() !== policyLogits.shape.join()) {
    throw new RemaxError('E_SHAPE', 'fullKL: refLogits must have the shape of policyLogits', {
      field: 'refLogits',
      value: refLogits.shape,
      expected: `[${B}, ${T}, ${V}]`,
    });
  }
  if (hostView(policyLogits) !== null && hostView(refLogits) !== null)
    return fullKLOnHost(policyLogits, refLogits);
  return fullKLWithTensorOps(policyLogits, refLogits, options);
}

/** The tensor-op path (GPU / native backends), chunked over rows. */
export function fullKLWithTensorOps(
  policyLogits: tf.Tensor3D,
  refLogits: tf.Tensor3D,
  options: ChunkOptions = {},
): tf.Tensor2D {
  const [B, T, V] = policyLogits.shape;
  const N = B * T;
  const op = customOp(([pIn, qIn]: [tf.Tensor, tf.Tensor], save) => {
    const x = tf.reshape(pIn, [N, V]) as tf.Tensor2D;
    const y = tf.reshape(qIn, [N, V]) as tf.Tensor2D;
    const parts: tf.Tensor1D[] = [];
    for (const [s, e] of rowChunks(N, V, options.maxChunkElements)) {
      parts.push(
        tf.tidy(() => {
          const a = tf.logSoftmax(tf.slice(x, [s, 0], [e - s, V]));
          const b = tf.logSoftmax(tf.slice(y, [s, 0], [e - s, V]));
          return tf.sum(tf.mul(tf.exp(a), tf.sub(a, b)), 1) as tf.Tensor1D;
        }),
      );
    }
    const kl = tf.concat(parts) as tf.Tensor1D; // [N]
    save([x, y, kl]);
    return {
      value: tf.reshape(kl, [B, T]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ys, klS] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const dyFlat = tf.reshape(dy, [N]);
        const dx: tf.Tensor2D[] = [];
        const dq: tf.Tensor2D[] = [];
        for (const [s, e] of rowChunks(N, V, options.maxChunkElements)) {
          const [gx, gy] = tf.tidy(() => {
            const n = e - s;
            const a = tf.logSoftmax(tf.slice(xs, [s, 0], [n, V]));
            const b = tf.logSoftmax(tf.slice(ys, [s, 0], [n, V]));
            const p = tf.exp(a);
            const d = tf.reshape(tf.slice(dyFlat, [s], [n]), [n, 1]);
            const k = tf.reshape(tf.slice(klS, [s], [n]), [n, 1]);
            const gx = tf.mul(tf.mul(p, tf.sub(tf.sub(a, b), k)), d) as tf.Tensor2D;
            const gy = tf.mul(tf.sub(tf.exp(b), p), d) as tf.Tensor2D;
            return [gx, gy];
          });
          dx.push(gx);
          dq.push(gy);
        }
        return [tf.reshape(tf.concat(dx, 0), [B, T, V]), tf.reshape(tf.concat(dq, 0), [B, T, V])];
      },
    };
  });
  return op(policyLogits, refLogits) as tf.Tensor2D;
}
