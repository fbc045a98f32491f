import { entropyOnHost } from '../kernels/entropyHost.js';
import { hostView } from '../kernels/hostMemory.js';
import { tf } from '../tf.js';
import { type ChunkOptions, rowChunks } from './chunking.js';
import { customOp } from './customOp.js';

/**
 * Entropy of softmax(logits) per position: H[b, t] = -sum_v p_v log p_v.
 * [B, T, V] -> [B, T], chunked over rows; custom gradient
 * dH/dx_k = -p_k (log p_k + H).
 */
export function entropyFromLogits(logits: tf.Tensor3D, options: ChunkOptions = {}): tf.Tensor2D {
  if (hostView(logits) !== null) return entropyOnHost(logits);
  return entropyWithTensorOps(logits, options);
}

/** The tensor-op path (GPU / native backends), chunked over rows. */
export function entropyWithTensorOps(logits: tf.Tensor3D, options: ChunkOptions = {}): tf.Tensor2D {
  const [B, T, V] = logits.shape;
  const N = B * T;
  const op = customOp(([xIn]: [tf.Tensor], save) => {
    const x = tf.reshape(xIn, [N, V]) as tf.Tensor2D;
    const parts: tf.Tensor1D[] = [];
    for (const [s, e] of rowChunks(N, V, options.maxChunkElements)) {
      parts.push(
        tf.tidy(() => {
          const a = tf.logSoftmax(tf.slice(x, [s, 0], [e - s, V]));
          return tf.neg(tf.sum(tf.mul(tf.exp(a), a), 1)) as tf.Tensor1D;
        }),
      );
    }
    const h = tf.concat(parts) as tf.Tensor1D;
    save([x, h]);
    return {
      value: tf.reshape(h, [B, T]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, hS] = saved as [tf.Tensor2D, tf.Tensor1D];
        const dyFlat = tf.reshape(dy, [N]);
        const parts2: tf.Tensor2D[] = [];
        for (const [s, e] of rowChunks(N, V, options.maxChunkElements)) {
          parts2.push(
            tf.tidy(() => {
              const n = e - s;
              const a = tf.logSoftmax(tf.slice(xs, [s, 0], [n, V]));
              const hh = tf.reshape(tf.slice(hS, [s], [n]), [n, 1]);
              const d = tf.reshape(tf.slice(dyFlat, [s], [n]), [n, 1]);
              return tf.mul(tf.neg(tf.mul(tf.exp(a), tf.add(a, hh))), d) as tf.Tensor2D;
            }),
          );
        }
        return tf.reshape(tf.concat(parts2, 0), [B, T, V]);
      },
    };
  });
  return op(logits) as tf.Tensor2D;
}
