export { type AdvantageInputs, type AdvantagesAndReturns, advantagesAndReturns } from './gae.js';
export { actorLoss, clipFraction, criticLoss } from './losses.js';
export { computeRewards, type RewardInputs, type Rows, responseEnd } from './rewards.js';
