// entropyFromLogits (ops/entropy.ts) on host memory: its twin is
// entropyWithTensorOps; test/ops.test.ts checks that the two agree.
import { customOp } from '../ops/customOp.js';
import { tf } from '../tf.js';
import { hostView } from './hostMemory.js';
import { rowLogSumExp } from './hostSoftmax.js';

/** The same op as loops over host memory (wasm heap / cpu arrays); see hostMemory.ts. */
export function entropyOnHost(logits: tf.Tensor3D): tf.Tensor2D {
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
