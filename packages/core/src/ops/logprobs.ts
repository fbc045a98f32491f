import { RemaxError } from '../errors.js';
import { hostView } from '../kernels/hostMemory.js';
import { logprobsOnHost } from '../kernels/logprobsHost.js';
import { tf } from '../tf.js';
import { rowChunks } from './chunking.js';
import { customOp } from './customOp.js';

/**
 * logprobs[b, t] = log p(ids[b, t+1] | ids[b, ..t]) = logits[b, t, ids[b, t+1]] - logsumexp(logits[b, t, :]).
 *
 * logits [B, T, V] float32, ids [B, T] int32 -> [B, T-1].
 * Fused and chunked over rows: the [B, T, V] log-softmax is never built; the
 * forward keeps one logsumexp per row, and the custom gradient
 * (dy * (onehot(target) - softmax)) is written chunk by chunk.
 */
export function logprobsFromLogits(logits: tf.Tensor3D, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, T] = logits.shape;
  if (ids.rank !== 2 || ids.shape[0] !== B || ids.shape[1] !== T) {
    throw new RemaxError('E_SHAPE', 'logprobsFromLogits: ids must be [B, T] matching logits', {
      field: 'ids',
      value: ids.shape,
      expected: `[${B}, ${T}]`,
    });
  }
  if (T < 2) {
    throw new RemaxError('E_SHAPE', 'logprobsFromLogits needs at least 2 positions', {
      field: 'logits',
      value: logits.shape,
      expected: 'T >= 2',
    });
  }
  if (hostView(logits) !== null) return logprobsOnHost(logits, ids);
  return logprobsWithTensorOps(logits, ids);
}

/** The tensor-op path (GPU / native backends), chunked over rows of at most `maxChunkElements`. */
export function logprobsWithTensorOps(
  logits: tf.Tensor3D,
  ids: tf.Tensor2D,
  maxChunkElements = 1 << 22,
): tf.Tensor2D {
  const [B, T, V] = logits.shape;
  const N = B * T;
  const op = customOp(([logitsIn]: [tf.Tensor], save) => {
    const x = tf.reshape(logitsIn, [N, V]) as tf.Tensor2D; // [N, V], shares data
    // targets[b, t] = ids[b, t+1]; the last position of each row gets 0 and is dropped
    const targets = tf.tidy(() =>
      tf.reshape(tf.concat([tf.slice(ids, [0, 1], [B, T - 1]), tf.zeros([B, 1], 'int32')], 1), [N]),
    ) as tf.Tensor1D; // [N]
    const lseParts: tf.Tensor1D[] = [];
    const pickedParts: tf.Tensor1D[] = [];
    for (const [s, e] of rowChunks(N, V, maxChunkElements)) {
      const [lse, picked] = tf.tidy(() => {
        const c = tf.slice(x, [s, 0], [e - s, V]); // [n, V]
        const lse = tf.logSumExp(c, 1) as tf.Tensor1D; // [n]
        const local = tf.add(
          tf.mul(tf.range(0, e - s, 1, 'int32'), tf.scalar(V, 'int32')),
          tf.slice(targets, [s], [e - s]),
        );
        const picked = tf.gather(tf.reshape(c, [-1]), local) as tf.Tensor1D; // [n]
        return [lse, picked];
      });
      lseParts.push(lse);
      pickedParts.push(picked);
    }
    const lse = tf.concat(lseParts) as tf.Tensor1D;
    const picked = tf.concat(pickedParts) as tf.Tensor1D;
    save([x, lse, targets]);
    const value = tf.slice(tf.reshape(tf.sub(picked, lse), [B, T]), [0, 0], [B, T - 1]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, lseS, targetsS] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        // dy [B, T-1] -> [N] with a zero for each row's last position
        const dyFull = tf.reshape(tf.concat([dy, tf.zeros([B, 1])], 1), [N]) as tf.Tensor1D;
        const parts: tf.Tensor2D[] = [];
        for (const [s, e] of rowChunks(N, V, maxChunkElements)) {
          parts.push(
            tf.tidy(() => {
              const n = e - s;
              const c = tf.slice(xs, [s, 0], [n, V]);
              const d = tf.reshape(tf.slice(dyFull, [s], [n]), [n, 1]);
              const prob = tf.exp(tf.sub(c, tf.reshape(tf.slice(lseS, [s], [n]), [n, 1])));
              // int32 oneHot then cast: wasm's oneHot with dtype 'float32' returns zeros (tfjs 4.22)
              const hot = tf.cast(tf.oneHot(tf.slice(targetsS, [s], [n]), V), 'float32');
              return tf.mul(tf.sub(hot, prob), d) as tf.Tensor2D;
            }),
          );
        }
        return tf.reshape(tf.concat(parts, 0), [B, T, V]);
      },
    };
  });
  return op(logits) as tf.Tensor2D;
}
