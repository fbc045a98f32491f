// One position of nextTokenScores (ops/nextTokenScores.ts) on host memory:
// logprobs, full KL and entropy from both models' logits rows. Its twin is the
// full-logits tensor formula in test/headOps.test.ts, which checks the two agree.
import { klRowTerms, rowExps, rowLogSumExp } from './hostSoftmax.js';

/**
 * One position: both log-softmaxes in float64, in two passes over the row; the
 * policy's probabilities reuse the exps of its logsumexp (`scratch`).
 */
export function scoreRow(
  x: Float32Array,
  y: Float32Array,
  o: number,
  V: number,
  next: number,
  n: number,
  out: {
    logprobs: Float32Array;
    refLogprobs: Float32Array;
    fullKl: Float32Array;
    entropy: Float32Array;
  },
  scratch: Float64Array,
): void {
  const { lse: lp, sum } = rowExps(x, o, V, scratch);
  const lq = rowLogSumExp(y, o, V);
  // p_v = e_v / sum: KL = sum p (log p - log q), entropy = -sum p log p
  const [px, py] = klRowTerms(x, y, o, V, scratch, lp, lq);
  const kl = (px - py) / sum;
  const ent = -px / sum;
  out.fullKl[n] = kl;
  out.entropy[n] = ent;
  out.logprobs[n] = (x[o + next] as number) - lp;
  out.refLogprobs[n] = (y[o + next] as number) - lq;
}
