import type { RewardFn } from '@remax/core';
import { conversationsOfBatch } from './policyChat.js';
import type { ConversationScores, UltraRewardModel } from './rewardModel.js';
import type { TextTokenizer } from './textTokenizer.js';

/**
 * The RewardFn algorithms take: policy ids (mistral-v1 prompt + response) ->
 * decode with the policy tokenizer -> UltraRM text -> reward-model ids -> rewards.
 * `onScored` sees every call's details (truncation count, texts) for metrics.
 */
export function makeRewardFn(
  rewardModel: UltraRewardModel,
  policyTokenizer: TextTokenizer,
  onScored?: (scores: ConversationScores) => void,
): RewardFn {
  return async (batch) => {
    const conversations = conversationsOfBatch(batch, policyTokenizer);
    const scores = await rewardModel.scoreConversations(conversations);
    onScored?.(scores);
    return scores.rewards;
  };
}
