export { type GroupAdvantages, grpoAdvantages, STD_EPS } from './advantages.js';
export {
  type GrpoConfig,
  type GrpoConfigInput,
  GrpoConfigSchema,
  type LossType,
  type ScaleRewards,
} from './config.js';
export { GRPO, type GrpoExperience, grpoAlgorithm } from './grpo.js';
export { type GrpoLossInputs, type GrpoLossOptions, type GrpoLossStats, grpoLoss } from './loss.js';
export {
  aggregationWeights,
  grpoObjective,
  type ObjectiveOptions,
  type ObjectiveResult,
  type TokenTerms,
} from './objective.js';
