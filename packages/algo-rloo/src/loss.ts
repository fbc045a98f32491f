// The RLOO loss of one scored batch, sequence-level REINFORCE on the
// leave-one-out advantages A_i (constants):
//   classic (Ahmadian et al.):  loss = -(1/B) sum_i A_i * sum_t lp_{i,t}
//   trl (TRL RLOOTrainer):      s_i = exp(sum_t lp - sum_t old_lp)
//                               loss = (1/B) sum_i -min(s_i A_i, clip(s_i, 1-eps_lo, 1+eps_hi) A_i)
// At ratio 1 both have the same gradient (unless the advantages are normalised).
import {
  clippedSurrogate,
  type Policy,
  parseWith,
  readScoredBatch,
  responseSums,
  type ScoredBatch,
  sampledKL,
  tf,
} from '@remax/core';
import { type RlooAdvantages, rlooAdvantages } from './advantages.js';
import { type RlooLossOptions, RlooLossOptionsSchema } from './config.js';

export interface RlooLossStats extends RlooAdvantages {
  /** sum_t (old lp - ref) over each row's response (no gradient). */
  klSum: number[];
}

/**
 * Per-sequence RLOO losses [B] from response-block tensors [B, L]:
 * `logprobs` (with gradient), `oldLogprobs`, `mask` (1 on response tokens) and
 * the advantages [B]. `rlooLoss` divides their sum by the batch's row count.
 */
export function rlooSequenceLosses(
  logprobs: tf.Tensor,
  oldLogprobs: tf.Tensor,
  mask: tf.Tensor,
  advantages: tf.Tensor,
  options: RlooLossOptions,
): tf.Tensor1D {
  const o = parseWith(RlooLossOptionsSchema, options, {
    what: 'RLOO loss options',
    code: 'E_INPUT',
  });
  return tf.tidy(() => {
    const sequenceLogprob = tf.sum(tf.mul(logprobs, mask), 1);
    if (o.form === 'classic') return tf.neg(tf.mul(advantages, sequenceLogprob)) as tf.Tensor1D;
    const oldSequenceLogprob = tf.sum(tf.mul(oldLogprobs, mask), 1);
    return clippedSurrogate(
      sequenceLogprob,
      oldSequenceLogprob,
      advantages,
      o.epsilonLow,
      o.epsilonHigh,
    ) as tf.Tensor1D;
  });
}

/**
 * The RLOO loss of a scored batch (k samples per prompt): KL sums from the old
 * and reference log-probabilities, leave-one-out advantages over every row,
 * the loss over `inputs.rows` (default all) as its share of the batch's loss.
 * `loss` is a scalar the caller disposes; its gradient reaches the policy's weights.
 */
export function rlooLoss(
  policy: Policy,
  reference: Policy,
  inputs: ScoredBatch,
  options: RlooLossOptions,
): { loss: tf.Scalar; stats: RlooLossStats } {
  const o = parseWith(RlooLossOptionsSchema, options, {
    what: 'RLOO loss options',
    code: 'E_INPUT',
  });
  let stats: RlooLossStats | undefined;
  const loss = tf.tidy(() => {
    const r = readScoredBatch(policy, reference, inputs, 'rlooLoss');
    const kl = sampledKL(r.oldLogprobs, r.refLogprobs, 'k1'); // TRL: first-order log ratio
    const klSum = responseSums(kl, r.mask, r.start);
    const adv = rlooAdvantages({ scores: r.scores, klSum, groupSize: r.groupSize }, o);
    stats = { ...adv, klSum };
    const [s, e] = r.rows;
    const old = tf.tensor2d(r.oldLogprobs.slice(s, e), r.logprobs.shape);
    const perSequence = rlooSequenceLosses(
      r.logprobs,
      old,
      r.rowMask,
      tf.tensor1d(adv.advantages.slice(s, e)),
      o,
    );
    return tf.div(tf.sum(perSequence), r.B) as tf.Scalar;
  });
  return { loss, stats: stats as RlooLossStats };
}
