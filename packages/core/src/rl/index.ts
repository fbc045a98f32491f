// The parts every REINFORCE-style algorithm shares (ReMax, PPO, GRPO, RLOO, REINFORCE++).
export { type ExperienceMetricsInput, experienceMetrics } from './experienceMetrics.js';
export {
  GroupAlgorithm,
  type GroupSettings,
  type GroupStepOptions,
  groupSettingsFields,
} from './groupAlgorithm.js';
export { groupMeans, unbiasedStd } from './groupStats.js';
export {
  experienceRows,
  type GroupExperience,
  sampleScoredGroups,
  trainInMicroBatches,
} from './groupSteps.js';
export { type KLEstimator, klEstimate, klEstimateTensor, sampledKL } from './kl.js';
export { AdaptiveKLController, FixedKLController, type KLController } from './klController.js';
export {
  clippedSurrogate,
  countResponseTokens,
  policyGradientLoss,
  responseMask,
  responseMaskTensor,
} from './policyGradient.js';
export { readScoredBatch, type ScoredBatch, type ScoredRows } from './scoredBatch.js';
export {
  checkSequenceBatch,
  type KLPenalty,
  type SequenceScores,
  scoreInMicroBatches,
  scoreSequences,
} from './scoring.js';
export { rolloutTISWeights, tisCapField, truncatedISWeights } from './truncatedIS.js';
