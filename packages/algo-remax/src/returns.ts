// ReMax returns (Li et al. 2023, arXiv 2310.10505; liziniu/ReMax compute_returns).
// REINFORCE whose baseline is the reward of the policy's own greedy response:
//   advantage = clip(r - r_greedy, -c, c)
//   ret_t = -kl_ctl * kl_t + gamma^(end - t) * advantage,   t in [start, end)
// with start = P - 1 (first logprob of a response token), end = start + number
// of response tokens. The KL is per step, not accumulated over the future.
// Returns are plain numbers: the loss treats them as constants.

/** The greedy baseline applied: clipped advantage per row and which rows were clipped. */
export interface GreedyBaseline {
  /** clip(reward - greedyReward, -rewardClip, rewardClip), per row. */
  advantages: number[];
  /** Rows where |reward - greedyReward| exceeded rewardClip. */
  clipped: boolean[];
}

/** ReMax's baseline: the reward of the greedy response to the same prompt. */
export function greedyBaseline(
  rewards: ArrayLike<number>,
  greedyRewards: ArrayLike<number>,
  rewardClip: number,
): GreedyBaseline {
  const advantages: number[] = [];
  const clipped: boolean[] = [];
  for (let b = 0; b < rewards.length; b++) {
    const raw = (rewards[b] as number) - (greedyRewards[b] as number);
    advantages.push(Math.min(rewardClip, Math.max(-rewardClip, raw)));
    clipped.push(Math.abs(raw) > rewardClip);
  }
  return { advantages, clipped };
}

export interface RemaxReturnsInput {
  /** Per-step KL penalty [B, T-1] (sampled estimate or full-vocabulary KL). */
  kl: readonly (readonly number[])[];
  /** action_mask = attention_mask[:, 1:], [B, T-1] of 0/1. */
  actionMask: readonly (readonly number[])[];
  /** Clipped advantage per row (from greedyBaseline). */
  advantages: readonly number[];
  /** First response logprob index: promptLength - 1. */
  start: number;
}

/** Returns [B, T-1]; zero outside [start, end). */
export function remaxReturns(
  input: RemaxReturnsInput,
  options: { klCtl: number; gamma: number },
): number[][] {
  const { kl, actionMask, advantages, start } = input;
  return actionMask.map((maskRow, b) => {
    const width = maskRow.length;
    let responseTokens = 0;
    for (let t = start; t < width; t++) responseTokens += maskRow[t] as number;
    const end = start + responseTokens;
    const advantage = advantages[b] as number;
    const klRow = kl[b] as readonly number[];
    const out = new Array<number>(width).fill(0);
    for (let t = start; t < end; t++) {
      out[t] = -options.klCtl * (klRow[t] as number) + options.gamma ** (end - t) * advantage;
    }
    return out;
  });
}

/** The greedy baseline and the returns of one scored batch: what remaxLoss and the trainer share. */
export function remaxReturnsFromScores(
  scores: { kl: readonly (readonly number[])[]; actionMask: readonly (readonly number[])[] },
  rewards: ArrayLike<number>,
  greedyRewards: ArrayLike<number>,
  options: { start: number; klCtl: number; gamma: number; rewardClip: number },
): GreedyBaseline & { returns: number[][] } {
  const baseline = greedyBaseline(rewards, greedyRewards, options.rewardClip);
  const returns = remaxReturns(
    {
      kl: scores.kl,
      actionMask: scores.actionMask,
      advantages: baseline.advantages,
      start: options.start,
    },
    options,
  );
  return { ...baseline, returns };
}
