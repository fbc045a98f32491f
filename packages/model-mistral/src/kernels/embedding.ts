import { customOp, tf } from '@remax/core';
import { allocate, onHost, view } from './hostTensors.js';

/** Rows `ids` of the embedding table: table [V, H], ids in [0, V) -> [ids.length, H]. */
export function embed(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  return onHost(table) ? embedHost(table, ids) : embedOps(table, ids);
}

/** The tensor-op version (GPU / native backends; the reference in tests). */
export function embedOps(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  return tf.tidy(() => tf.gather(table, tf.tensor1d(ids, 'int32')) as tf.Tensor2D);
}

/**
 * One row copy per id on host memory. Its gradient adds dy's rows into a
 * zeroed [V, H] tensor on the heap; tf.gather's gradient goes through
 * UnsortedSegmentSum, which builds the [V, H] sum in a fresh JS array and
 * copies it over (32 MB for the small config's vocabulary).
 */
export function embedHost(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [V, H] = table.shape;
  const n = ids.length;
  const op = customOp(([tableIn]: [tf.Tensor]) => {
    const out = allocate([n, H]);
    const [src, dst] = [view(tableIn), view(out)];
    for (let i = 0; i < n; i++) {
      const row = (ids[i] as number) * H;
      dst.set(src.subarray(row, row + H), i * H);
    }
    return {
      value: out,
      gradFunc: (dy: tf.Tensor) => {
        const grad = allocate([V, H]);
        const [g, d] = [view(grad), view(dy)];
        g.fill(0);
        for (let i = 0; i < n; i++) {
          const row = (ids[i] as number) * H;
          for (let h = 0; h < H; h++)
            g[row + h] = (g[row + h] as number) + (d[i * H + h] as number);
        }
        return grad;
      },
    };
  });
  return op(table) as tf.Tensor2D;
}
