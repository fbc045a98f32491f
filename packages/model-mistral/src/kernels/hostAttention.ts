import { customOp, tf } from '@remax/core';
import { allocate, stackHost, unstackHost, view } from './hostTensors.js';

/** Sizes shared by the forward and backward passes. */
interface Shape {
  B: number;
  T: number;
  nH: number;
  nKV: number;
  hD: number;
  /** query heads per KV head */
  rep: number;
  /** rows per group: the rep query heads of one KV head, stacked (rep * T) */
  M: number;
  scale: number;
}

/**
 * Scaled dot-product attention with grouped KV heads, its products as one
 * plain 2-D matMul per (batch row, KV head) group, forward and backward: the
 * only matMul shape XNNPACK runs (a batched matMul takes the scalar path,
 * ~20x slower on wasm). Layout changes are loops or memcpys over host memory;
 * the masked softmax and its gradient stay tensor ops (wasm's SIMD exp).
 * Same contract as attention(): q [B*T, nH, hD] (RoPE applied),
 * kT [B*nKV, hD, Tk], v [B*nKV, Tk, hD], bias [B, T, Tk] additive -> [B*T, nH*hD].
 */
export function hostAttention(
  q: tf.Tensor3D,
  kT: tf.Tensor3D,
  v: tf.Tensor3D,
  bias: tf.Tensor3D,
  B: number,
  T: number,
): tf.Tensor2D {
  const [, nH, hD] = q.shape;
  const [G, , Tk] = kT.shape;
  const nKV = G / B;
  const rep = nH / nKV;
  const s: Shape = { B, T, nH, nKV, hD, rep, M: rep * T, scale: Math.fround(1 / Math.sqrt(hD)) };
  const grouped = (t: tf.Tensor) => tf.reshape(t, [G, s.M, Tk]); // [B, nH, T, Tk] -> [G, M, Tk]
  const op = customOp(([qIn, kIn, vIn]: [tf.Tensor, tf.Tensor, tf.Tensor], save) => {
    const qs = groupQueries(qIn, s, s.scale); // G x [M, hD]
    const ks = unstackHost(kIn); // G x [hD, Tk]
    const vs = unstackHost(vIn); // G x [Tk, hD]
    const scores = stackHost(qs.map((a, g) => tf.matMul(a, ks[g] as tf.Tensor))); // [G, M, Tk]
    const p = tf.softmax(
      tf.add(tf.reshape(scores, [B, nH, T, Tk]), tf.reshape(bias, [B, 1, T, Tk])),
    ); // [B, nH, T, Tk]
    const ps = unstackHost(grouped(p)); // G x [M, Tk]
    const out = ungroup(
      ps.map((a, g) => tf.matMul(a, vs[g] as tf.Tensor)),
      s,
      1,
    );
    save([qIn, kIn, vIn, p]);
    return {
      value: tf.reshape(out, [B * T, nH * hD]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qS, kS, vS, pS] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const p3 = grouped(pS);
        const dO = groupQueries(dy, s, 1); // G x [M, hD]
        const dOt = groupQueries(dy, s, 1, true); // G x [hD, M]
        const vt = unstackHost(tf.transpose(vS, [0, 2, 1])); // G x [hD, Tk]
        const ps = unstackHost(p3); // G x [M, Tk]
        const dP = stackHost(dO.map((d, g) => tf.matMul(d, vt[g] as tf.Tensor))); // [G, M, Tk]
        // dVᵀ = dOᵀ · p: transposes the small [hD, Tk] result instead of p [M, Tk]
        const dVt = stackHost(dOt.map((d, g) => tf.matMul(d, ps[g] as tf.Tensor))); // [G, hD, Tk]
        // softmax backward: dScores = p * (dP - sum(dP * p))
        const dS = unstackHost(tf.mul(p3, tf.sub(dP, tf.sum(tf.mul(dP, p3), -1, true)))); // G x [M, Tk]
        const kg = unstackHost(tf.transpose(kS, [0, 2, 1])); // G x [Tk, hD]
        const qt = groupQueries(qS, s, s.scale, true); // G x [hD, M]
        const dQ = ungroup(
          dS.map((d, g) => tf.matMul(d, kg[g] as tf.Tensor)),
          s,
          s.scale,
        ); // [B*T, nH, hD]
        const dKT = stackHost(qt.map((a, g) => tf.matMul(a, dS[g] as tf.Tensor))); // [G, hD, Tk]
        return [dQ, dKT, tf.transpose(dVt, [0, 2, 1])];
      },
    };
  });
  return op(q, kT, v) as tf.Tensor2D;
}

/**
 * q [B*T, nH, hD] -> G tensors [M, hD] (or [hD, M] when `transposed`), times
 * f: group g = b*nKV + kvHead holds query head kvHead*rep + j at rows
 * j*T .. j*T + T (HF repeat_kv).
 */
function groupQueries(q: tf.Tensor, s: Shape, f: number, transposed = false): tf.Tensor[] {
  const { B, T, nH, nKV, hD, rep, M } = s;
  const parts = Array.from({ length: B * nKV }, () => allocate(transposed ? [hD, M] : [M, hD]));
  const src = view(q); // after the allocations
  const dst = parts.map(view);
  // element (row m, dim d) lives at m * rowStride + d * dimStride
  const [rowStride, dimStride] = transposed ? [1, M] : [hD, 1];
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < nH; h++) {
        const o = ((b * T + t) * nH + h) * hD;
        const part = dst[b * nKV + Math.floor(h / rep)] as Float32Array;
        const r = ((h % rep) * T + t) * rowStride;
        for (let d = 0; d < hD; d++) part[r + d * dimStride] = (src[o + d] as number) * f;
      }
  return parts;
}

/** The inverse of groupQueries: G tensors [M, hD] -> [B*T, nH, hD], times f. */
function ungroup(parts: tf.Tensor[], s: Shape, f: number): tf.Tensor {
  const { B, T, nH, nKV, hD, rep, M } = s;
  const out = allocate([B * T, nH, hD]);
  const dst = view(out); // after the allocation
  const src = parts.map(view);
  for (let g = 0; g < B * nKV; g++) {
    const part = src[g] as Float32Array;
    const b = Math.floor(g / nKV);
    const h0 = (g % nKV) * rep;
    for (let r = 0; r < M; r++) {
      const t = r % T;
      const o = ((b * T + t) * nH + h0 + Math.floor(r / T)) * hD;
      for (let d = 0; d < hD; d++) dst[o + d] = (part[r * hD + d] as number) * f;
    }
  }
  return out;
}
