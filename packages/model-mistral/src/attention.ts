import { customOp, linear, tf } from '@remax/core';

/**
 * How the two attention products (scores = q·kᵀ, out = p·v) are computed:
 * - 'batched': one batched tf.matMul per product, with a custom gradient that
 *   transposes explicitly (tfjs' own uses transpose flags);
 * - 'perGroup': one plain 2-D matMul per (batch row, KV head) group, the only
 *   shape XNNPACK runs fast on wasm (PERFORMANCE.md); all query heads that
 *   share a KV head are stacked into one [rep*T, hD] matrix (GQA).
 * The bench (`pnpm bench`) measures both.
 */
export type AttentionMatMul = 'batched' | 'perGroup';

/** a [G, M, K] · b [G, K, N] -> [G, M, N] */
export function groupedMatMul(a: tf.Tensor3D, b: tf.Tensor3D, how: AttentionMatMul): tf.Tensor3D {
  if (how === 'perGroup') {
    const as = tf.unstack(a) as tf.Tensor2D[];
    const bs = tf.unstack(b) as tf.Tensor2D[];
    return tf.stack(as.map((x, i) => linear(x, bs[i] as tf.Tensor2D))) as tf.Tensor3D;
  }
  const op = customOp(([aIn, bIn]: [tf.Tensor, tf.Tensor], save) => {
    save([aIn, bIn]);
    return {
      value: tf.matMul(aIn as tf.Tensor3D, bIn as tf.Tensor3D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
        const d = dy as tf.Tensor3D;
        return [
          tf.matMul(d, tf.transpose(bs, [0, 2, 1]) as tf.Tensor3D),
          tf.matMul(tf.transpose(as, [0, 2, 1]) as tf.Tensor3D, d),
        ];
      },
    };
  });
  return op(a, b) as tf.Tensor3D;
}

/** New keys in the cached layout: k [B*T, nKV, hD] -> kT [B*nKV, hD, T]. */
export function keysToCacheLayout(k: tf.Tensor3D, B: number, T: number): tf.Tensor3D {
  const [, nKV, hD] = k.shape;
  return tf.reshape(tf.transpose(tf.reshape(k, [B, T, nKV, hD]), [0, 2, 3, 1]), [B * nKV, hD, T]);
}

/** New values in the cached layout: v [B*T, nKV, hD] -> [B*nKV, T, hD]. */
export function valuesToCacheLayout(v: tf.Tensor3D, B: number, T: number): tf.Tensor3D {
  const [, nKV, hD] = v.shape;
  return tf.reshape(tf.transpose(tf.reshape(v, [B, T, nKV, hD]), [0, 2, 1, 3]), [B * nKV, T, hD]);
}

/**
 * Scaled dot-product attention with grouped KV heads (HF repeat_kv: query
 * head h reads KV head floor(h / rep)).
 * q [B*T, nH, hD] (RoPE applied), kT [B*nKV, hD, Tk], v [B*nKV, Tk, hD],
 * bias [B, 1, T, Tk] additive (0 or MASKED) -> [B*T, nH*hD].
 */
export function attention(
  q: tf.Tensor3D,
  kT: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor4D,
  B: number,
  T: number,
  how: AttentionMatMul,
): tf.Tensor2D {
  const [, nH, hD] = q.shape;
  const G = kT.shape[0]; // B * nKV
  const Tk = kT.shape[2];
  const rep = (nH * B) / G;
  const qs = tf.mul(q, 1 / Math.sqrt(hD));
  // [B*T, nH, hD] -> [B, nH, T, hD] -> [B*nKV, rep*T, hD]
  const qg = tf.reshape(tf.transpose(tf.reshape(qs, [B, T, nH, hD]), [0, 2, 1, 3]), [
    G,
    rep * T,
    hD,
  ]);
  const scores = tf.reshape(groupedMatMul(qg as tf.Tensor3D, kT, how), [B, nH, T, Tk]); // [B, nH, T, Tk]
  const p = tf.softmax(tf.add(scores, bias)); // [B, nH, T, Tk]
  const out = groupedMatMul(tf.reshape(p, [G, rep * T, Tk]) as tf.Tensor3D, v, how); // [B*nKV, rep*T, hD]
  // [B, nH, T, hD] -> [B, T, nH, hD] -> [B*T, nH*hD]
  return tf.reshape(tf.transpose(tf.reshape(out, [B, nH, T, hD]), [0, 2, 1, 3]), [B * T, nH * hD]);
}
