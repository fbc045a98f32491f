import { ppoAlgorithm } from '@remax/algo-ppo-baseline';
import { remaxAlgorithm } from '@remax/algo-remax';
import type { AlgorithmFactory } from '@remax/core';
import type { AlgoName } from './config/schema.js';

/**
 * The algorithms `algo:` can name, by their factories' own names. Adding one
 * (RLOO, GRPO) is a package implementing @remax/core's Algorithm plus one
 * entry here and a config section.
 */
export const algorithmFactories: Partial<Record<AlgoName, AlgorithmFactory>> = {
  remax: remaxAlgorithm as unknown as AlgorithmFactory,
  ppo: ppoAlgorithm as unknown as AlgorithmFactory,
};
