// The REINFORCE++ loss (OpenRLHF PolicyLoss 'ppo' at 3c3be62, models/loss.py): per
// token PPO-clip on the whitened advantages A_t (constants), token mean over the batch:
//   ratio_t = exp(clamp(lp_t - old_t, -20, 20))
//   loss    = sum_t -min(ratio_t A_t, clip(ratio_t, 1-eps_lo, 1+eps_hi) A_t) / (response tokens)
// No KL term: the KL is in the rewards.
import {
  clippedSurrogate,
  countResponseTokens,
  type Policy,
  parseWith,
  readScoredBatch,
  type ScoredBatch,
  tf,
} from '@remax/core';
import { type ReinforcePPAdvantages, reinforcePPAdvantages } from './advantages.js';
import { type ReinforcePPLossOptions, ReinforcePPLossOptionsSchema } from './config.js';

export interface ReinforcePPLossStats extends ReinforcePPAdvantages {
  /** Response tokens of the whole batch: the loss's denominator. */
  responseTokens: number;
}

const parse = (options: ReinforcePPLossOptions) =>
  parseWith(ReinforcePPLossOptionsSchema, options, {
    what: 'REINFORCE++ loss options',
    code: 'E_INPUT',
  });

/**
 * Per-token REINFORCE++ losses [B, L], 0 where `mask` is 0, from `logprobs`
 * (with gradient), `oldLogprobs`, per-token `advantages` and `mask` (1 on
 * response tokens), all [B, L]. `reinforcePPLoss` divides their sum by the
 * batch's response-token count.
 */
export function reinforcePPTokenLosses(
  logprobs: tf.Tensor,
  oldLogprobs: tf.Tensor,
  advantages: tf.Tensor,
  mask: tf.Tensor,
  options: Pick<ReinforcePPLossOptions, 'epsilonLow' | 'epsilonHigh'>,
): tf.Tensor2D {
  const o = parse(options);
  return tf.tidy(() => {
    // OpenRLHF clamps the log-ratio before exp; the surrogate sees ratio = exp(clamped - 0)
    const logRatio = tf.clipByValue(tf.sub(logprobs, oldLogprobs), -20, 20);
    const perToken = clippedSurrogate(
      logRatio,
      tf.zerosLike(logRatio),
      advantages,
      o.epsilonLow,
      o.epsilonHigh,
    );
    return tf.mul(perToken, mask) as tf.Tensor2D;
  });
}

/**
 * The REINFORCE++ loss of a scored batch: per-token KL rewards from the old and
 * reference log-probabilities, the clipped score on each row's last response
 * token, discounted returns whitened over every response token of the batch,
 * and the clipped token-mean loss over `inputs.rows` (default all) as its share
 * of the batch's loss. `loss` is a scalar the caller disposes; its gradient
 * reaches the policy's weights.
 */
export function reinforcePPLoss(
  policy: Policy,
  reference: Policy,
  inputs: ScoredBatch,
  options: ReinforcePPLossOptions,
): { loss: tf.Scalar; stats: ReinforcePPLossStats } {
  const o = parse(options);
  let stats: ReinforcePPLossStats | undefined;
  const loss = tf.tidy(() => {
    const r = readScoredBatch(policy, reference, inputs, 'reinforcePPLoss');
    const adv = reinforcePPAdvantages(
      {
        scores: r.scores,
        logprobs: r.oldLogprobs,
        refLogprobs: r.refLogprobs,
        mask: r.mask,
        groupSize: r.groupSize,
      },
      o,
    );
    const responseTokens = countResponseTokens(r.mask, r.start);
    stats = { ...adv, responseTokens };
    const [s, e] = r.rows;
    const shape = r.logprobs.shape;
    const perToken = reinforcePPTokenLosses(
      r.logprobs,
      tf.tensor2d(r.oldLogprobs.slice(s, e), shape),
      tf.tensor2d(adv.advantages.slice(s, e), shape),
      r.rowMask,
      o,
    );
    return tf.div(tf.sum(perToken), Math.max(responseTokens, 1)) as tf.Scalar;
  });
  return { loss, stats: stats as ReinforcePPLossStats };
}
