export { type RemaxConfig, type RemaxConfigInput, RemaxConfigSchema } from './config.js';
export { type KLEstimator, klEstimate, sampledKL } from './kl.js';
export { AdaptiveKLController, FixedKLController, type KLController } from './klController.js';
export {
  countResponseTokens,
  policyGradientLoss,
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
export { type KLPenalty, type SequenceScores, scoreSequences } from './scoring.js';
