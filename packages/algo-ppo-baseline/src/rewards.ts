import { RemaxError } from '@remax/core';

/** Per-token log-prob rows [B, T-1] (index t scores token t+1) as plain numbers. */
export type Rows = readonly (readonly number[])[];

export interface RewardInputs {
  /** Behaviour-policy log-probs [B, T-1]. */
  logprobs: Rows;
  /** Frozen reference log-probs [B, T-1]. */
  refLogprobs: Rows;
  /** Reward-model score per sequence [B]. */
  rewardScore: readonly number[];
  /** attention_mask[:, 1:] [B, T-1]. */
  actionMask: Rows;
  /** Prompt length P (left-padded); the response starts at column P - 1. */
  promptLength: number;
}

/**
 * Column after which a row's rewards and values are zeroed, as DeepSpeed-Chat
 * computes it: end = start + sum(action_mask[start:]) + 1. Note this is one past
 * the last response token: DeepSpeed-Chat places the score there (or on the last
 * column when the response fills the row); we keep that to match its numbers.
 */
export function responseEnd(maskRow: readonly number[], start: number): number {
  let count = 0;
  for (let t = start; t < maskRow.length; t++) count += maskRow[t] ?? 0;
  return start + count + 1;
}

/**
 * DeepSpeed-Chat `compute_rewards`: per-token reward = -kl_ctl * (logp - ref_logp)
 * on every column before the row's end (zero from there on, as its train step
 * does), plus the clipped reward-model score on the last column of [start, end).
 * Returns float64 rows [B, T-1].
 */
export function computeRewards(
  inputs: RewardInputs,
  options: { klCtl: number; rewardClip: number },
): number[][] {
  const { logprobs, refLogprobs, rewardScore, actionMask, promptLength } = inputs;
  checkRows('refLogprobs', refLogprobs, logprobs);
  checkRows('actionMask', actionMask, logprobs);
  if (rewardScore.length !== logprobs.length) {
    throw new RemaxError('E_SHAPE', 'one reward score per row is needed', {
      field: 'rewardScore',
      value: rewardScore.length,
      expected: `${logprobs.length}`,
    });
  }
  const start = promptLength - 1;
  return logprobs.map((row, b) => {
    const ref = refLogprobs[b] as readonly number[];
    const fullEnd = responseEnd(actionMask[b] as readonly number[], start);
    // zeroed from the end on, as DeepSpeed-Chat's train step does before GAE
    const out = row.map((lp, t) => (t >= fullEnd ? 0 : -options.klCtl * (lp - (ref[t] as number))));
    const end = Math.min(fullEnd, row.length);
    const score = rewardScore[b] as number;
    const clipped = Math.min(Math.max(score, -options.rewardClip), options.rewardClip);
    out[end - 1] = (out[end - 1] as number) + clipped;
    return out;
  });
}

export function checkRows(field: string, rows: Rows, like: Rows): void {
  const ok = rows.length === like.length && rows.every((r, i) => r.length === like[i]?.length);
  if (!ok) {
    throw new RemaxError('E_SHAPE', 'rows do not match the log-prob rows in shape', {
      field,
      value: rows.map((r) => r.length),
      expected: `${like.length} rows of ${like[0]?.length ?? 0}`,
    });
  }
}
