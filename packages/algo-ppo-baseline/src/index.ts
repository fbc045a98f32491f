export { type PpoConfig, type PpoConfigInput, PpoConfigSchema } from './config.js';
export { type AdvantageInputs, type AdvantagesAndReturns, advantagesAndReturns } from './gae.js';
export { actorLoss, clipFraction, criticLoss } from './losses.js';
export { Ppo, type PpoExperience, ppoAlgorithm } from './ppo.js';
export { computeRewards, type RewardInputs, type Rows, responseEnd } from './rewards.js';
export { type PpoScores, scoreForPpo } from './scoring.js';
