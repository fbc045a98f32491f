// GRPO's advantages (TRL grpo_trainer.py, sum_then_normalize with one reward):
//   A_i = (r_i - mean_group(i)) / (std + 1e-4)
// std unbiased (n-1) over the group ('group') or the whole batch ('batch'; the
// mean stays per group); 'none' (Dr. GRPO) skips the division.
import { groupMeans, RemaxError, unbiasedStd } from '@remax/core';
import type { ScaleRewards } from './config.js';

/** Added to the std before dividing (TRL's constant). */
export const STD_EPS = 1e-4;

export interface GroupAdvantages {
  /** One per row; constants of the loss. */
  advantages: number[];
  /** Mean reward of each row's group. */
  groupMean: number[];
  /** The std each row is divided by (with 'none', the group's std, for the metric). */
  std: number[];
  /** Fraction of rows whose std is zero (all samples of the prompt scored alike: no signal). */
  zeroStdFraction: number;
}

/**
 * Advantages of `scores` [N], rows `i * groupSize + j` = sample j of prompt i.
 * Plain float64 arithmetic: they enter the loss as constants.
 */
export function grpoAdvantages(
  scores: ArrayLike<number>,
  groupSize: number,
  scaleRewards: ScaleRewards,
): GroupAdvantages {
  checkGroups(scores.length, groupSize);
  const means = groupMeans(scores, groupSize);
  const groupStd = means.map((_, i) =>
    unbiasedStd(Array.prototype.slice.call(scores, i * groupSize, (i + 1) * groupSize)),
  );
  const batchStd = scaleRewards === 'batch' ? unbiasedStd(scores) : Number.NaN;
  const groupMean: number[] = [];
  const std: number[] = [];
  const advantages: number[] = [];
  let zero = 0;
  for (let row = 0; row < scores.length; row++) {
    const g = Math.floor(row / groupSize);
    const m = means[g] as number;
    const s = scaleRewards === 'batch' ? batchStd : (groupStd[g] as number);
    const centred = (scores[row] as number) - m;
    groupMean.push(m);
    std.push(s);
    advantages.push(scaleRewards === 'none' ? centred : centred / (s + STD_EPS));
    // torch.isclose(std, 0): |std| <= 1e-8
    if (Math.abs(s) <= 1e-8) zero++;
  }
  return { advantages, groupMean, std, zeroStdFraction: zero / Math.max(scores.length, 1) };
}

function checkGroups(rows: number, groupSize: number): void {
  if (!Number.isInteger(groupSize) || groupSize < 2 || rows % groupSize !== 0 || rows === 0) {
    throw new RemaxError('E_INPUT', 'GRPO needs whole groups of at least 2 samples per prompt', {
      field: 'groupSize',
      value: { groupSize, rows },
      expected: 'an integer >= 2 that divides the number of rows (rows > 0)',
    });
  }
}
