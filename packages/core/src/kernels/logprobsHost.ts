// logprobsFromLogits (ops/logprobs.ts) on host memory: its twin is
// logprobsWithTensorOps; test/ops.test.ts checks that the two agree.
import { customOp } from '../ops/customOp.js';
import { tf } from '../tf.js';
import { hostView } from './hostMemory.js';
import { rowLogSumExp, writeLogprobGradRow } from './hostSoftmax.js';

/**
 * The same op as plain loops over host memory (wasm heap / cpu arrays): one
 * pass per row for max and sum(exp) in float64, and the gradient written
 * straight into the output tensor's storage. Nothing [N, V]-sized is
 * allocated besides the gradient itself.
 */
export function logprobsOnHost(logits: tf.Tensor3D, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, T, V] = logits.shape;
  const N = B * T;
  const idData = ids.dataSync();
  const targets = new Int32Array(N); // targets[b*T + t] = ids[b, t+1]; 0 at each row's end
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T - 1; t++) targets[b * T + t] = idData[b * T + t + 1] as number;
  const op = customOp(([logitsIn]: [tf.Tensor], save) => {
    const x = hostView(logitsIn) as Float32Array;
    const lse = new Float32Array(N);
    const values = new Float32Array(B * (T - 1));
    for (let n = 0; n < N; n++) {
      const o = n * V;
      const l = rowLogSumExp(x, o, V);
      lse[n] = l;
      const t = n % T;
      if (t < T - 1) values[n - Math.floor(n / T)] = (x[o + (targets[n] as number)] as number) - l;
    }
    save([logitsIn]);
    return {
      value: tf.tensor2d(values, [B, T - 1]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dyData = dy.dataSync(); // [B, T-1]
        const grad = tf.zeros([B, T, V]);
        const g = hostView(grad) as Float32Array; // after every allocation
        const xs = hostView(saved[0] as tf.Tensor) as Float32Array;
        for (let n = 0; n < N; n++) {
          const t = n % T;
          if (t === T - 1) continue; // no target: zero gradient
          const d = dyData[n - Math.floor(n / T)] as number;
          if (d === 0) continue;
          writeLogprobGradRow(g, xs, n * V, V, lse[n] as number, d, targets[n] as number);
        }
        return grad;
      },
    };
  });
  return op(logits) as tf.Tensor2D;
}
