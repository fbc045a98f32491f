import { customOp, linear, tf } from '@remax/core';
import { hostAttention } from './kernels/hostAttention.js';
import { onHost } from './kernels/hostTensors.js';

/**
 * How attention is computed:
 * - 'host': layouts as loops and memcpys over host memory, the products as one
 *   plain 2-D matMul per (batch row, KV head) group, forward and backward
 *   (hostAttention); wasm and cpu only, 'batched' elsewhere;
 * - 'batched': tensor ops, one batched tf.matMul per product, with a custom
 *   gradient that transposes explicitly (tfjs' own uses transpose flags);
 * - 'perGroup': tensor ops, one plain 2-D matMul per group after tf.unstack
 *   (whose slices copy their whole input on wasm);
 * - 'auto' (default): 'host' for groups of at least HOST_MIN_GROUP_MACS
 *   multiply-adds (prefill, scoring, training), else 'batched' (decode steps).
 * In every case all query heads that share a KV head are stacked into one
 * [rep*T, hD] matrix (GQA). The bench (`pnpm bench`) measures them.
 */
export type AttentionMatMul = 'auto' | 'host' | 'batched' | 'perGroup';

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
 * Per-group matMuls pay off from about this many multiply-adds per group
 * (rep*T * hD * Tk); below it (decode steps, tiny models) the per-call cost
 * dominates and 'auto' runs the batched tensor ops instead.
 */
export const HOST_MIN_GROUP_MACS = 1 << 15;

/**
 * Scaled dot-product attention with grouped KV heads (HF repeat_kv: query
 * head h reads KV head floor(h / rep)).
 * q [B*T, nH, hD] (RoPE applied), kT [B*nKV, hD, Tk], v [B*nKV, Tk, hD],
 * bias [B, T, Tk] additive (0 or MASKED) -> [B*T, nH*hD].
 */
export function attention(
  q: tf.Tensor3D,
  kT: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor3D,
  B: number,
  T: number,
  how: AttentionMatMul,
): tf.Tensor2D {
  const [, nH, hD] = q.shape;
  const groupMacs = ((nH * B) / kT.shape[0]) * T * hD * kT.shape[2];
  const host = how === 'host' || (how === 'auto' && groupMacs >= HOST_MIN_GROUP_MACS);
  if (host && onHost(q)) return hostAttention(q, kT, v, bias, B, T);
  return tf.tidy(() => attentionOps(q, kT, v, bias, B, T, how === 'perGroup' ? how : 'batched'));
}

/** The tensor-op version ('batched' / 'perGroup'). */
function attentionOps(
  q: tf.Tensor3D,
  kT: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor3D,
  B: number,
  T: number,
  how: 'batched' | 'perGroup',
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
  const p = tf.softmax(tf.add(scores, tf.reshape(bias, [B, 1, T, Tk]))); // [B, nH, T, Tk]
  const out = groupedMatMul(tf.reshape(p, [G, rep * T, Tk]) as tf.Tensor3D, v, how); // [B*nKV, rep*T, hD]
  // [B, nH, T, hD] -> [B, T, nH, hD] -> [B*T, nH*hD]
  return tf.reshape(tf.transpose(tf.reshape(out, [B, nH, T, hD]), [0, 2, 1, 3]), [B * T, nH * hD]);
}
