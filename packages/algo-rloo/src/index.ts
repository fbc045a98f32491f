export { type RlooAdvantages, rlooAdvantages } from './advantages.js';
export {
  type RlooConfig,
  type RlooConfigInput,
  RlooConfigSchema,
  type RlooLossOptions,
  RlooLossOptionsSchema,
  rlooLossFields,
} from './config.js';
export { type RlooLossStats, rlooLoss, rlooSequenceLosses } from './loss.js';
export { Rloo, rlooAlgorithm } from './rloo.js';
