import type { RewardFn } from './algorithm.js';

/**
 * A fixed, transparent reward for sanity runs and tests of the optimiser and the
 * signs: the fraction of each row's response tokens (mask 1, from promptLength on)
 * whose id satisfies `isTarget`. A correct RL loop must raise it.
 */
export function tokenFractionReward(isTarget: (id: number) => boolean): RewardFn {
  return async (batch) => {
    const ids = (await batch.inputIds.array()) as number[][];
    const mask = (await batch.attentionMask.array()) as number[][];
    return Float32Array.from(ids, (row, b) => {
      let hits = 0;
      let n = 0;
      for (let t = batch.promptLength; t < row.length; t++) {
        if (mask[b]?.[t] !== 1) continue;
        n++;
        if (isTarget(row[t] as number)) hits++;
      }
      return n > 0 ? hits / n : 0;
    });
  };
}
