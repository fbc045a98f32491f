export { type ReinforcePPAdvantages, reinforcePPAdvantages } from './advantages.js';
export {
  type ReinforcePPConfig,
  type ReinforcePPConfigInput,
  ReinforcePPConfigSchema,
  type ReinforcePPLossOptions,
  ReinforcePPLossOptionsSchema,
  reinforcePPLossFields,
} from './config.js';
export { type ReinforcePPLossStats, reinforcePPLoss, reinforcePPTokenLosses } from './loss.js';
export { ReinforcePP, reinforcePPAlgorithm } from './reinforcePP.js';
