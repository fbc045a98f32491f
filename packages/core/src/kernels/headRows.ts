// The row loops of logprobsFromHidden (ops/headLogprobs.ts) over one chunk of
// head logits in host memory. Their twins are its tensor-op paths
// (`tensorOps: true`); test/headOps.test.ts checks values and gradients of
// every path (kept probabilities, recomputed logits, tensor ops).
import { NO_TARGET } from '../ops/targets.js';
import type { tf } from '../tf.js';
import { hostView } from './hostMemory.js';
import {
  rowExps,
  rowLogSumExp,
  scaleRow,
  scratchRow,
  writeLogprobGradRow,
  writeProbRow,
} from './hostSoftmax.js';

/** Fills lse[s..s+n) and values[s..s+n) from one chunk of logits [n, V]. */
export function chunkForward(
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

/**
 * chunkForward that also turns the chunk's logits into its probabilities, in
 * place (float32 exps / sum, from the float64 exps of the logsumexp pass).
 */
export function chunkProbabilities(
  logits: tf.Tensor,
  holder: tf.Tensor,
  targets: Int32Array,
  s: number,
  n: number,
  V: number,
  lse: Float64Array,
  values: Float32Array,
): void {
  const x = hostView(logits) as Float32Array;
  const scratch = scratchRow(hostView(holder), V);
  for (let r = 0; r < n; r++) {
    const { lse: l, sum } = rowExps(x, r * V, V, scratch);
    lse[s + r] = l;
    const t = targets[s + r] as number;
    values[s + r] = t === NO_TARGET ? 0 : (x[r * V + t] as number) - l;
    writeProbRow(x, r * V, V, scratch, 1 / sum);
  }
}

/** dy * (onehot(target) - p) for one chunk, written over its kept probabilities p [n, V]. */
export function gradientFromProbabilities(
  p: tf.Tensor2D,
  targets: Int32Array,
  dy: ArrayLike<number>,
  s: number,
  n: number,
  V: number,
): tf.Tensor2D {
  const x = hostView(p) as Float32Array;
  forEachGradientRow(x, targets, dy, s, n, V, (o, d, t) => {
    scaleRow(x, o, V, -d);
    x[o + t] = (x[o + t] as number) + d;
  });
  return p;
}

/**
 * dy * (onehot(target) - softmax(logits)) for one chunk [n, V] of host-memory
 * logits, given each row's logsumexp, written over the logits themselves.
 */
export function writeChunkGradient(
  logits: tf.Tensor2D,
  targets: Int32Array,
  dy: ArrayLike<number>,
  lse: Float64Array,
  s: number,
  n: number,
  V: number,
): tf.Tensor2D {
  // in place over the chunk's own logits (just made by the caller, read by nothing else):
  // one [n, V] buffer instead of two at the backward's peak; each element is read before
  // it is written, so the values are those of a separate output
  const x = hostView(logits) as Float32Array;
  forEachGradientRow(x, targets, dy, s, n, V, (o, d, t, r) => {
    writeLogprobGradRow(x, x, o, V, lse[s + r] as number, d, t);
  });
  return logits;
}

/** Zeroes the chunk's rows without a target or weight; hands the others to `write` (offset, dy, target, row). */
function forEachGradientRow(
  x: Float32Array,
  targets: Int32Array,
  dy: ArrayLike<number>,
  s: number,
  n: number,
  V: number,
  write: (o: number, d: number, t: number, r: number) => void,
): void {
  for (let r = 0; r < n; r++) {
    const t = targets[s + r] as number;
    const d = dy[s + r] as number;
    if (t === NO_TARGET || d === 0) x.fill(0, r * V, (r + 1) * V);
    else write(r * V, d, t, r);
  }
}
