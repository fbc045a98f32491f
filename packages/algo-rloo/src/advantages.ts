// RLOO advantages (Ahmadian et al. 2024, arXiv 2402.14740; TRL RLOOTrainer at
// huggingface/trl@f2cd577, rloo_trainer.py:1531-1558):
//   R_i = score_i - beta * sum_t (lp_t - ref_t)        KL in the sequence reward
//   b_i = (sum_{j in group} R_j - R_i) / (k - 1)        leave-one-out baseline
//   A_i = R_i - b_i
//   A  <- (A - mean A) / (std A + 1e-4)                 when normalizeAdvantages (unbiased std)
// Plain numbers: the loss treats them as constants.
import { mean, RemaxError, unbiasedStd } from '@remax/core';

export interface RlooAdvantages {
  /** R_i, the score with the KL penalty. */
  rlhfReward: number[];
  /** Mean R of the other k-1 samples of the same prompt. */
  baseline: number[];
  advantages: number[];
}

export function rlooAdvantages(
  input: {
    /** Reward-model score per row. */
    scores: ArrayLike<number>;
    /** sum_t (lp - ref) over each row's response tokens. */
    klSum: ArrayLike<number>;
    /** k; rows i*k .. i*k+k-1 are prompt i. */
    groupSize: number;
  },
  options: { beta: number; normalizeAdvantages: boolean },
): RlooAdvantages {
  const { scores, klSum, groupSize: k } = input;
  const n = scores.length;
  if (!Number.isInteger(k) || k < 2 || n % k !== 0 || klSum.length !== n) {
    throw new RemaxError('E_SHAPE', 'RLOO needs whole groups of at least 2 samples', {
      field: 'groupSize',
      value: { rows: n, klSums: klSum.length, groupSize: k },
      expected: 'an integer k >= 2 dividing the number of rows (one klSum per row)',
    });
  }
  const rlhfReward = Array.from(scores, (s, i) => s - options.beta * (klSum[i] as number));
  const baseline = rlhfReward.map((_, i) => {
    const g = i - (i % k);
    let sum = 0;
    for (let j = g; j < g + k; j++) sum += rlhfReward[j] as number;
    return (sum - (rlhfReward[i] as number)) / (k - 1);
  });
  let advantages = rlhfReward.map((r, i) => r - (baseline[i] as number));
  if (options.normalizeAdvantages) {
    const m = mean(advantages);
    const s = unbiasedStd(advantages) + 1e-4;
    advantages = advantages.map((a) => (a - m) / s);
  }
  return { rlhfReward, baseline, advantages };
}
