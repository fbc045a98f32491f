import { customOp, tf } from '@remax/core';
import { allocate, onHost, view } from './hostTensors.js';

/** RMSNorm in float32: w * x * rsqrt(mean(x^2) + eps). x [N, H], w [H] -> [N, H]. */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  return onHost(x) ? rmsNormHost(x, w, eps) : rmsNormOps(x, w, eps);
}

/** The tensor-op version (GPU / native backends; the reference in tests). */
export function rmsNormOps(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const meanSq = tf.mean(tf.square(x), 1, true); // [N, 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSq, eps))), w) as tf.Tensor2D;
  });
}

/**
 * One pass per row on host memory (sums in float64), with its gradient
 * (r = rsqrt(mean(x²) + eps), y = w x r):
 *   dx = r (w dy) - x r³ / H · sum(w dy x),   dw = sum over rows of dy x r.
 */
export function rmsNormHost(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  const [N, H] = x.shape;
  const r = new Float64Array(N); // per-row rsqrt, reused by the gradient
  const op = customOp(([xIn, wIn]: [tf.Tensor, tf.Tensor], save) => {
    save([xIn, wIn]);
    const out = allocate([N, H]);
    const [xs, ws, ys] = [view(xIn), view(wIn), view(out)];
    for (let n = 0; n < N; n++) {
      const o = n * H;
      let s = 0;
      for (let h = 0; h < H; h++) {
        const xv = xs[o + h] as number;
        s += xv * xv;
      }
      const rn = 1 / Math.sqrt(s / H + eps);
      r[n] = rn;
      for (let h = 0; h < H; h++) ys[o + h] = (ws[h] as number) * ((xs[o + h] as number) * rn);
    }
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dx = allocate([N, H]);
        const dwAcc = new Float64Array(H);
        const [xv, wv, g, dxv] = [
          view(saved[0] as tf.Tensor),
          view(saved[1] as tf.Tensor),
          view(dy),
          view(dx),
        ];
        for (let n = 0; n < N; n++) {
          const o = n * H;
          const rn = r[n] as number;
          let dot = 0;
          for (let h = 0; h < H; h++) {
            const gx = (g[o + h] as number) * (xv[o + h] as number);
            dot += gx * (wv[h] as number);
            dwAcc[h] = (dwAcc[h] as number) + gx * rn;
          }
          const c = (dot * rn * rn * rn) / H;
          for (let h = 0; h < H; h++)
            dxv[o + h] = rn * (wv[h] as number) * (g[o + h] as number) - c * (xv[o + h] as number);
        }
        return [dx, tf.tensor1d(Float32Array.from(dwAcc))];
      },
    };
  });
  return op(x, w) as tf.Tensor2D;
}
