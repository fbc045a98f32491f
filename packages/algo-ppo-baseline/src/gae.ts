import { checkRows, type Rows, responseEnd } from './rewards.js';

export interface AdvantageInputs {
  /** Old critic values [B, T-1] (aligned with the log-prob columns). */
  values: Rows;
  /** Per-token rewards from computeRewards [B, T-1]. */
  rewards: Rows;
  /** attention_mask[:, 1:] [B, T-1]. */
  actionMask: Rows;
  promptLength: number;
}

export interface AdvantagesAndReturns {
  /** GAE advantages over the response columns [B, T-1 - start]. */
  advantages: number[][];
  /** advantages + values over the response columns [B, T-1 - start]. */
  returns: number[][];
  /** The values after zeroing from each row's end (what the critic is clipped around). */
  values: number[][];
}

/**
 * DeepSpeed-Chat `get_advantages_and_returns` (Schulman et al. GAE) after its
 * train-step preprocessing: rewards and old values are zeroed from
 * end = start + sum(mask[start:]) + 1 on, then for t = last .. start:
 * delta_t = r_t + gamma * V_{t+1} - V_t, A_t = delta_t + gamma * lam * A_{t+1}.
 */
export function advantagesAndReturns(
  inputs: AdvantageInputs,
  options: { gamma: number; lam: number },
): AdvantagesAndReturns {
  const { rewards, actionMask, promptLength } = inputs;
  checkRows('values', inputs.values, rewards);
  checkRows('actionMask', actionMask, rewards);
  const start = promptLength - 1;
  const advantages: number[][] = [];
  const returns: number[][] = [];
  const values: number[][] = [];
  for (let b = 0; b < rewards.length; b++) {
    const end = responseEnd(actionMask[b] as readonly number[], start);
    const r = (rewards[b] as readonly number[]).map((x, t) => (t >= end ? 0 : x));
    const v = (inputs.values[b] as readonly number[]).map((x, t) => (t >= end ? 0 : x));
    const length = r.length;
    const adv = new Array<number>(length - start).fill(0);
    let lastGaeLam = 0;
    for (let t = length - 1; t >= start; t--) {
      const nextValue = t < length - 1 ? (v[t + 1] as number) : 0;
      const delta = (r[t] as number) + options.gamma * nextValue - (v[t] as number);
      lastGaeLam = delta + options.gamma * options.lam * lastGaeLam;
      adv[t - start] = lastGaeLam;
    }
    advantages.push(adv);
    returns.push(adv.map((a, i) => a + (v[start + i] as number)));
    values.push(v);
  }
  return { advantages, returns, values };
}
