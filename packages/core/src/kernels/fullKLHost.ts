// fullKL (ops/fullKL.ts) on host memory: its twin is fullKLWithTensorOps;
// test/ops.test.ts checks that the two agree.
import { customOp } from '../ops/customOp.js';
import { tf } from '../tf.js';
import { hostView } from './hostMemory.js';
import { rowLogSumExp } from './hostSoftmax.js';

/** The same op as loops over host memory (wasm heap / cpu arrays); see hostMemory.ts. */
export function fullKLOnHost(policyLogits: tf.Tensor3D, refLogits: tf.Tensor3D): tf.Tensor2D {
  const [B, T, V] = policyLogits.shape;
  const N = B * T;
  const op = customOp(([pIn, qIn]: [tf.Tensor, tf.Tensor], save) => {
    const x = hostView(pIn) as Float32Array;
    const y = hostView(qIn) as Float32Array;
    const lseP = new Float64Array(N);
    const lseQ = new Float64Array(N);
    const kl = new Float32Array(N);
    for (let n = 0; n < N; n++) {
      const o = n * V;
      const lp = rowLogSumExp(x, o, V);
      const lq = rowLogSumExp(y, o, V);
      let k = 0;
      for (let v = 0; v < V; v++) {
        const a = (x[o + v] as number) - lp;
        k += Math.exp(a) * (a - ((y[o + v] as number) - lq));
      }
      lseP[n] = lp;
      lseQ[n] = lq;
      kl[n] = k;
    }
    save([pIn, qIn]);
    return {
      value: tf.tensor2d(kl, [B, T]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const d = dy.dataSync();
        const gp = tf.zeros([B, T, V]);
        const gq = tf.zeros([B, T, V]);
        // views taken after every allocation (a growing wasm heap detaches them)
        const [xs, ys, gx, gy] = [saved[0], saved[1], gp, gq].map(
          (t) => hostView(t as tf.Tensor) as Float32Array,
        ) as [Float32Array, Float32Array, Float32Array, Float32Array];
        for (let n = 0; n < N; n++) {
          const dn = d[n] as number;
          if (dn === 0) continue;
          const o = n * V;
          const lp = lseP[n] as number;
          const lq = lseQ[n] as number;
          const k = kl[n] as number;
          for (let v = 0; v < V; v++) {
            const a = (xs[o + v] as number) - lp;
            const b = (ys[o + v] as number) - lq;
            const p = Math.exp(a);
            gx[o + v] = dn * p * (a - b - k);
            gy[o + v] = dn * (Math.exp(b) - p);
          }
        }
        return [gp, gq];
      },
    };
  });
  return op(policyLogits, refLogits) as tf.Tensor2D;
}
