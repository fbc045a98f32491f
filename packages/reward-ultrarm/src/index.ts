export { alignToCritic, type CriticAlignment, tokenAlignedCritic } from './alignedCritic.js';
export type { ChatMessage, Conversation } from './conversation.js';
export { parseConversation } from './conversation.js';
export {
  type ConvertOptions,
  type ConvertResult,
  convertUltraRMForVllm,
} from './convertForVllm.js';
export { headAtPositions, lastRealIndex } from './lastPosition.js';
export { microBatchPlan } from './microBatch.js';
export type { PolicySequences } from './policyChat.js';
export { conversationsFromPolicyTokens, parseMistralV1Prompt } from './policyChat.js';
export { type RewardEndpoint, readScores, remoteRewardFn } from './remoteRewardFn.js';
export type { RewardCheckpointInfo } from './rewardCheckpoint.js';
export { REGRESSION_HEAD, SCORE_HEAD } from './rewardCheckpoint.js';
export { makeRewardFn } from './rewardFn.js';
export type { RewardInputs } from './rewardInputs.js';
export { buildRewardInputs } from './rewardInputs.js';
export type { ConversationScores, RewardModelOptions, ScoreBatch } from './rewardModel.js';
export {
  DEFAULT_MICRO_BATCH_SIZE,
  loadRewardModel,
  loadRewardTokenizer,
  UltraRewardModel,
} from './rewardModel.js';
export type { SaveOptions } from './saveRewardDirectory.js';
export { type ModelSource, ScalarHeadModel } from './scalarHeadModel.js';
export { servedClassifier } from './servedClassifier.js';
export type { TextTokenizer } from './textTokenizer.js';
export type { IntMatrix } from './tokenRows.js';
export { ULTRARM_TEMPLATE, ultraRMPromptText, ultraRMText } from './ultraTemplate.js';
export { loadValueModel, UltraValueModel } from './valueModel.js';
