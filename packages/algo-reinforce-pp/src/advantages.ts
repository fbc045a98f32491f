// REINFORCE++ advantages (Hu 2025, arXiv 2501.03262), as OpenRLHF 3c3be62 builds
// them (openrlhf/models/utils.py compute_approx_kl / compute_reward,
// openrlhf/trainer/ppo_utils/experience_maker.py):
//   kl_t   = clamp(k(lp_t, ref_t), -10, 10)                    k = k1 | k2 | k3
//   s'     = score                 ('reinforce')
//          | score - mean of the prompt's k scores   ('reinforce_baseline')
//   r_t    = -beta * kl_t + [t = last response token] * clip(s', lo, hi)
//   G_t    = sum_{u >= t} gamma^(u - t) r_u                    over the response
//   A_t    = (G_t - mean G) / sqrt(max(var G, 1e-8))           over every response
//            token of the batch, var biased (divided by the token count)
// Plain numbers [B, T-1], 0 off the response: the loss treats them as constants.
import { groupMeans, type KLEstimator, klEstimate, RemaxError } from '@remax/core';

type Rows = readonly (readonly number[])[];

export interface ReinforcePPAdvantages {
  /** s' per row: the score, or the score minus its prompt's mean (before clipping). */
  shapedScores: number[];
  /** Whether each row's s' was clipped. */
  clipped: boolean[];
  tokenRewards: number[][];
  returns: number[][];
  whitenMean: number;
  /** 1 / sqrt(max(var, 1e-8)). */
  whitenRstd: number;
  advantages: number[][];
}

export function reinforcePPAdvantages(
  input: {
    /** Reward-model score per row. */
    scores: ArrayLike<number>;
    /** Old-policy and reference log-probabilities [B, T-1]. */
    logprobs: Rows;
    refLogprobs: Rows;
    /** 1 on response tokens, [B, T-1]. */
    mask: Rows;
    /** k; rows i*k .. i*k+k-1 are prompt i. */
    groupSize: number;
  },
  options: {
    estimator: 'reinforce' | 'reinforce_baseline';
    beta: number;
    klEstimator: KLEstimator;
    gamma: number;
    rewardClipRange: readonly [number, number];
  },
): ReinforcePPAdvantages {
  const { scores, mask } = input;
  const [lo, hi] = options.rewardClipRange;
  const k = input.groupSize;
  if (options.estimator === 'reinforce_baseline' && k < 2) {
    throw new RemaxError('E_INPUT', "'reinforce_baseline' needs at least 2 samples per prompt", {
      field: 'groupSize',
      value: k,
      expected: 'an integer >= 2',
    });
  }
  const means = options.estimator === 'reinforce_baseline' ? groupMeans(scores, k) : null;
  const shapedScores = Array.from(scores, (s, b) => s - (means?.[Math.floor(b / k)] ?? 0));
  const clipped = shapedScores.map((s) => s < lo || s > hi);
  const tokenRewards = mask.map((row, b) => {
    const old = input.logprobs[b] as readonly number[];
    const ref = input.refLogprobs[b] as readonly number[];
    const out = row.map((m, t) => {
      if (m !== 1) return 0;
      const kl = Math.min(
        10,
        Math.max(-10, klEstimate(old[t] as number, ref[t] as number, options.klEstimator)),
      );
      return -options.beta * kl;
    });
    const last = row.lastIndexOf(1);
    const s = shapedScores[b] as number;
    if (last >= 0) out[last] = (out[last] as number) + Math.min(hi, Math.max(lo, s));
    return out;
  });
  const returns = tokenRewards.map((row, b) => {
    const out = new Array<number>(row.length).fill(0);
    let g = 0;
    for (let t = row.length - 1; t >= 0; t--) {
      g = (row[t] as number) + options.gamma * g;
      if (mask[b]?.[t] === 1) out[t] = g; // the prompt's columns stay 0
    }
    return out;
  });
  // whitening over every response token of the batch, the biased variance
  let n = 0;
  let sum = 0;
  mask.forEach((row, b) => {
    row.forEach((m, t) => {
      if (m === 1) {
        n++;
        sum += returns[b]?.[t] as number;
      }
    });
  });
  const whitenMean = sum / n;
  let sq = 0;
  mask.forEach((row, b) => {
    row.forEach((m, t) => {
      if (m === 1) sq += ((returns[b]?.[t] as number) - whitenMean) ** 2;
    });
  });
  const whitenRstd = 1 / Math.sqrt(Math.max(sq / n, 1e-8));
  const advantages = returns.map((row, b) =>
    row.map((g, t) => (mask[b]?.[t] === 1 ? (g - whitenMean) * whitenRstd : 0)),
  );
  return { shapedScores, clipped, tokenRewards, returns, whitenMean, whitenRstd, advantages };
}
