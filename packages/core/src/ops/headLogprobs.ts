import { RemaxError } from '../errors.js';
import { hostView } from '../kernels/hostMemory.js';
import { rowLogSumExp, writeLogprobGradRow } from '../kernels/hostSoftmax.js';
import { tf } from '../tf.js';
import { type ChunkOptions, rowChunks } from './chunking.js';
import { customOp } from './customOp.js';

/** An LM head: the weight in Hugging Face layout and its transposed compute copy. */
export interface LMHead {
  /** [V, H]; receives the gradient unless `frozen`. */
  weight: tf.Tensor2D;
  /** The head takes no gradient (LoRA's frozen base): no [V, H] gradient is computed. */
  frozen?: boolean;
  /** [H, V] = transpose(weight), the operand of the plain (fast) matMul. */
  weightT: tf.Tensor2D;
}

/** Marks a position without a target token in `logprobsFromHidden`. */
export const NO_TARGET = -1;

/**
 * logprobs[n] = log softmax(hidden[n] · Wᵀ)[targets[n]] for hidden [N, H],
 * without ever building the [N, V] logits: the head runs over row chunks of
 * at most `maxChunkElements` logits, the forward keeps one logsumexp per row,
 * and the backward recomputes each chunk's logits (one more head matMul)
 * rather than keeping them. This is the memory that decides whether a
 * training step fits: at B=8, T=768, V=32000 one [N, V] float32 tensor is
 * 786 MB, and the unfused path holds the logits, their gradient and the
 * head's backward at once.
 *
 * Positions whose target is NO_TARGET give 0 and no gradient. Differentiable
 * w.r.t. `hidden` and `head.weight`; returns [N].
 */
export function logprobsFromHidden(
  hidden: tf.Tensor2D,
  head: LMHead,
  targets: Int32Array,
  options: ChunkOptions & {
    /** Use tensor ops even where host-memory loops are possible (what GPU backends run; for tests). */
    tensorOps?: boolean;
  } = {},
): tf.Tensor1D {
  const [N, H] = hidden.shape;
  const [V, HW] = head.weight.shape;
  if (HW !== H || head.weightT.shape[0] !== H || head.weightT.shape[1] !== V) {
    throw new RemaxError('E_SHAPE', 'logprobsFromHidden: the head does not match the hidden size', {
      field: 'head',
      value: { hidden: hidden.shape, weight: head.weight.shape, weightT: head.weightT.shape },
      expected: `weight [V, ${H}] and weightT [${H}, V]`,
    });
  }
  if (targets.length !== N) {
    throw new RemaxError('E_SHAPE', 'logprobsFromHidden: one target per hidden row', {
      field: 'targets',
      value: targets.length,
      expected: `${N}`,
    });
  }
  for (const t of targets) {
    if (t !== NO_TARGET && !(t >= 0 && t < V)) {
      throw new RemaxError('E_INPUT', 'logprobsFromHidden: target id outside the vocabulary', {
        field: 'targets',
        value: t,
        expected: `an id in [0, ${V}) or NO_TARGET (-1)`,
      });
    }
  }
  const chunks = rowChunks(N, V, options.maxChunkElements);
  const lse = new Float64Array(N);
  const frozen = head.frozen === true;
  const op = customOp(([hIn]: tf.Tensor[], save) => {
    const h = hIn as tf.Tensor2D;
    const values = new Float32Array(N);
    for (const [s, e] of chunks) {
      const logits = tf.tidy(() => tf.matMul(tf.slice(h, [s, 0], [e - s, H]), head.weightT));
      try {
        chunkForward(logits, targets, s, e - s, V, lse, values);
      } finally {
        logits.dispose();
      }
    }
    save([h, head.weight, head.weightT]); // weightT too: the caller may free it before the backward
    return {
      value: tf.tensor1d(values),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hs, ws, wT] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const d = dy.dataSync();
        const dHParts: tf.Tensor2D[] = [];
        let dWT: tf.Tensor2D | null = null; // [H, V], accumulated over chunks
        for (const [s, e] of chunks) {
          const [dHc, next = null] = tf.tidy((): [tf.Tensor2D, tf.Tensor2D?] => {
            const hc = tf.slice(hs, [s, 0], [e - s, H]);
            const logits = tf.matMul(hc, wT) as tf.Tensor2D;
            const g = chunkGradient(
              logits,
              targets,
              d,
              lse,
              s,
              e - s,
              V,
              options.tensorOps === true,
            );
            if (frozen) return [tf.matMul(g, ws)];
            const part = tf.matMul(tf.transpose(hc), g) as tf.Tensor2D; // [H, n] · [n, V]
            return [tf.matMul(g, ws), dWT ? (tf.add(dWT, part) as tf.Tensor2D) : part];
          });
          dWT?.dispose();
          dWT = next;
          dHParts.push(dHc);
        }
        const dH = tf.concat(dHParts, 0);
        tf.dispose(dHParts);
        if (frozen) return [dH];
        const dW = tf.transpose(dWT as tf.Tensor2D);
        dWT?.dispose();
        return [dH, dW];
      },
    };
  });
  return (frozen ? op(hidden) : op(hidden, head.weight)) as tf.Tensor1D;
}

/** Fills lse[s..s+n) and values[s..s+n) from one chunk of logits [n, V]. */
function chunkForward(
  logits: tf.Tensor,
  targets: Int32Array,
  s: number,
  n: number,
  V: number,
  lse: Float64Array,
  values: Float32Array,
): void {
  const x = hostView(logits) ?? (logits.dataSync() as Float32Array);
  for (let r = 0; r < n; r++) {
    const l = rowLogSumExp(x, r * V, V);
    lse[s + r] = l;
    const t = targets[s + r] as number;
    values[s + r] = t === NO_TARGET ? 0 : (x[r * V + t] as number) - l;
  }
}

/** dy * (onehot(target) - softmax(logits)) for one chunk, [n, V]; on host memory, written over `logits`. */
function chunkGradient(
  logits: tf.Tensor2D,
  targets: Int32Array,
  dy: ArrayLike<number>,
  lse: Float64Array,
  s: number,
  n: number,
  V: number,
  tensorOps: boolean,
): tf.Tensor2D {
  if (tensorOps || hostView(logits) === null) {
    // tensor ops (GPU / native backends)
    const d = Float32Array.from({ length: n }, (_, r) =>
      targets[s + r] === NO_TARGET ? 0 : (dy[s + r] as number),
    );
    const t = Int32Array.from({ length: n }, (_, r) => Math.max(0, targets[s + r] as number));
    const l = tf.tensor2d(Float32Array.from(lse.subarray(s, s + n)), [n, 1]);
    // int32 oneHot then cast: wasm's float32 oneHot returns zeros (tfjs 4.22)
    const hot = tf.cast(tf.oneHot(tf.tensor1d(t, 'int32'), V), 'float32');
    return tf.mul(tf.sub(hot, tf.exp(tf.sub(logits, l))), tf.tensor2d(d, [n, 1]));
  }
  // in place over the chunk's own logits (just made by the caller, read by nothing else):
  // one [n, V] buffer instead of two at the backward's peak; each element is read before
  // it is written, so the values are those of a separate output
  const x = hostView(logits) as Float32Array;
  for (let r = 0; r < n; r++) {
    const t = targets[s + r] as number;
    const d = dy[s + r] as number;
    if (t === NO_TARGET || d === 0) x.fill(0, r * V, (r + 1) * V);
    else writeLogprobGradRow(x, x, r * V, V, lse[s + r] as number, d, t);
  }
  return logits;
}
