import type { UltraRewardModel } from './rewardModel.js';

/**
 * The reward model as `serve`'s classifier (POST /classify): raw scores of
 * reward-model id rows, scored exactly as `makeRewardFn` scores them locally.
 */
export function servedClassifier(model: UltraRewardModel, name: string, root: string) {
  return {
    name,
    root,
    vocabSize: model.vocabSize,
    maxModelLen: model.maxLength,
    score: (rows: number[][]) => model.scoreTokenRows(rows),
    tokenizer: model.tokenizer,
  };
}
