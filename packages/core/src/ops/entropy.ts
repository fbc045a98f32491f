import { hostView } from '../kernels/hostMemory.js';
import { rowLogSumExp } from '../kernels/hostSoftmax.js';
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

/** The same op as loops over host memory (wasm heap / cpu arrays); see hostMemory.ts. */
function entropyOnHost(logits: tf.Tensor3D): tf.Tensor2D {
  const [B, T, V] = logits.shape;
  const N = B * T;
  const op = customOp(([xIn]: [tf.Tensor], save) => {
    const x = hostView(xIn) as Float32Array;
    const lse = new Float64Array(N);
    const h = new Float32Array(N);
    for (let n = 0; n < N; n++) {
      const o = n * V;
      const l = rowLogSumExp(x, o, V);
      let e = 0;
      for (let v = 0; v < V; v++) {
        const a = (x[o + v] as number) - l;
        e -= Math.exp(a) * a;
      }
      lse[n] = l;
      h[n] = e;
    }
    save([xIn]);
    return {
      value: tf.tensor2d(h, [B, T]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const d = dy.dataSync();
        const grad = tf.zeros([B, T, V]);
        const g = hostView(grad) as Float32Array; // after every allocation
        const xs = hostView(saved[0] as tf.Tensor) as Float32Array;
        for (let n = 0; n < N; n++) {
          const dn = d[n] as number;
          if (dn === 0) continue;
          const o = n * V;
          const l = lse[n] as number;
          const hn = h[n] as number;
          for (let v = 0; v < V; v++) {
            const a = (xs[o + v] as number) - l;
            g[o + v] = -dn * Math.exp(a) * (a + hn);
          }
        }
        return grad;
      },
    };
  });
  return op(logits) as tf.Tensor2D;
}
