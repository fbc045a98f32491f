// re-exported from @remax/core for users of the first release's names
export {
  AdaptiveKLController,
  countResponseTokens,
  FixedKLController,
  type KLController,
  type KLEstimator,
  type KLPenalty,
  klEstimate,
  policyGradientLoss,
  type SequenceScores,
  sampledKL,
  scoreSequences,
} from '@remax/core';
export { type RemaxConfig, type RemaxConfigInput, RemaxConfigSchema } from './config.js';
export {
  type RemaxLossInputs,
  type RemaxLossOptions,
  type RemaxLossStats,
  remaxLoss,
} from './loss.js';
export { ReMax, type RemaxExperience, remaxAlgorithm } from './remax.js';
export {
  type GreedyBaseline,
  greedyBaseline,
  type RemaxReturnsInput,
  remaxReturns,
} from './returns.js';
