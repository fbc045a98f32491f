import { RemaxError } from '../errors.js';
import {
  chunkForward,
  chunkProbabilities,
  gradientFromProbabilities,
  writeChunkGradient,
} from '../kernels/headRows.js';
import { allocateHost, hostView } from '../kernels/hostMemory.js';
import { tf } from '../tf.js';
import { type ChunkOptions, rowChunks } from './chunking.js';
import { customOp } from './customOp.js';
import { NO_TARGET } from './targets.js';

/** An LM head: the weight in Hugging Face layout and its transposed compute copy. */
export interface LMHead {
  /** [V, H]; receives the gradient unless `frozen`. */
  weight: tf.Tensor2D;
  /** The head takes no gradient (LoRA's frozen base): no [V, H] gradient is computed. */
  frozen?: boolean;
  /** [H, V] = transpose(weight), the operand of the plain (fast) matMul. */
  weightT: tf.Tensor2D;
}

export { NO_TARGET } from './targets.js';

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
    /**
     * Keep the forward's probabilities for the backward when the scored rows
     * hold at most this many logits: the backward then skips one head matMul
     * per chunk and the exps. Default 2^26 (256 MB of float32) for a trained
     * head, 0 for a frozen one (LoRA runs are there to save memory, and a
     * frozen head's backward has no dW matMul, so the recompute costs it
     * relatively more memory than time). 0 = always recompute. Host memory
     * only (wasm, cpu).
     */
    keepProbabilities?: number;
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
  // Only rows with a target run the head (prompt columns cost nothing): they
  // are gathered into M compact rows, and their gradient scattered back.
  const active = rowsWithTarget(targets);
  const M = active ? active.length : N;
  const compact = active ? Int32Array.from(active, (n) => targets[n] as number) : targets;
  const chunks = rowChunks(M, V, options.maxChunkElements);
  const lse = new Float64Array(M);
  const frozen = head.frozen === true;
  const keep =
    options.tensorOps !== true &&
    ['wasm', 'cpu'].includes(tf.getBackend()) &&
    M * V <= (options.keepProbabilities ?? (frozen ? 0 : DEFAULT_KEEP_ELEMENTS));
  const op = customOp(([hIn]: tf.Tensor[], save) => {
    const h = hIn as tf.Tensor2D;
    const values = new Float32Array(N);
    const rows = active ? new Float32Array(M) : values;
    const hActive = active
      ? (tf.tidy(() => tf.gather(h, tf.tensor1d(active, 'int32'))) as tf.Tensor2D)
      : h;
    const kept: tf.Tensor[] = []; // per chunk: its probabilities, for the backward
    const holder = keep ? allocateHost([2 * V + 1]) : null; // float64 exps of one row
    try {
      for (const [s, e] of chunks) {
        const logits = tf.tidy(() =>
          tf.matMul(tf.slice(hActive, [s, 0], [e - s, H]), head.weightT),
        );
        if (holder) {
          kept.push(logits);
          chunkProbabilities(logits, holder, compact, s, e - s, V, lse, rows);
          continue;
        }
        try {
          chunkForward(logits, compact, s, e - s, V, lse, rows);
        } finally {
          logits.dispose();
        }
      }
      // the gathered rows (the backward needs no others), weightT too: the caller may
      // free it before the backward. The engine keeps its own references to what is
      // saved (none when no gradient is taped).
      save([hActive, head.weight, head.weightT, ...kept]);
    } finally {
      if (hActive !== h) hActive.dispose();
      holder?.dispose();
      tf.dispose(kept);
    }
    if (active)
      active.forEach((n, m) => {
        values[n] = rows[m] as number;
      });
    return {
      value: tf.tensor1d(values),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hActive, ws, wT, ...probabilities] = saved as tf.Tensor2D[] as [
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          ...tf.Tensor2D[],
        ];
        const dyAll = dy.dataSync();
        const d = active ? Float32Array.from(active, (n) => dyAll[n] as number) : dyAll;
        const dHParts: tf.Tensor2D[] = [];
        let dWT: tf.Tensor2D | null = null; // [H, V], accumulated over chunks
        for (const [c, [s, e]] of chunks.entries()) {
          const [dHc, next = null] = tf.tidy((): [tf.Tensor2D, tf.Tensor2D?] => {
            const hc = tf.slice(hActive, [s, 0], [e - s, H]);
            const p = probabilities[c];
            const g = p
              ? gradientFromProbabilities(p, compact, d, s, e - s, V)
              : chunkGradient(
                  tf.matMul(hc, wT) as tf.Tensor2D,
                  compact,
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
        const dH = scatterRows(dHParts, active, N, H);
        if (frozen) return [dH];
        const dW = dWT ? tf.transpose(dWT) : tf.zeros([V, H]);
        dWT?.dispose();
        return [dH, dW];
      },
    };
  });
  return (frozen ? op(hidden) : op(hidden, head.weight)) as tf.Tensor1D;
}

/** The rows that have a target, or null when every row has one. */
function rowsWithTarget(targets: Int32Array): Int32Array | null {
  let count = 0;
  for (const t of targets) if (t !== NO_TARGET) count++;
  if (count === targets.length) return null;
  const rows = new Int32Array(count);
  let m = 0;
  targets.forEach((t, n) => {
    if (t !== NO_TARGET) rows[m++] = n;
  });
  return rows;
}

/** [N, H]: the compact rows' gradients (in `parts`, disposed) at rows `active` (all when null), 0 elsewhere. */
function scatterRows(
  parts: tf.Tensor2D[],
  active: Int32Array | null,
  N: number,
  H: number,
): tf.Tensor2D {
  const out = tf.tidy(() => {
    if (parts.length === 0) return tf.zeros([N, H]) as tf.Tensor2D;
    const dense = parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 0);
    if (!active) return dense;
    return tf.scatterND(tf.tensor2d(active, [active.length, 1], 'int32'), dense, [N, H]);
  }) as tf.Tensor2D;
  for (const p of parts) if (p !== out) p.dispose();
  return out;
}

const DEFAULT_KEEP_ELEMENTS = 2 ** 26;

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
  return writeChunkGradient(logits, targets, dy, lse, s, n, V);
}
