import { RemaxError } from '@remax/core';
import type { RunConfig } from '../config/schema.js';
import { type GenerationShape, responsesPerPrompt } from '../registry/generation.js';
import { type AlgoName, generationShape } from '../registry/lookup.js';

/** One algorithm's share of an ablation at an equal generation budget. */
export interface BudgetedRun {
  algo: AlgoName;
  shape: GenerationShape;
  /** Prompts per step: the budget over the responses one prompt costs this algorithm. */
  promptsPerStep: number;
  responsesPerStep: number;
  /** The same config with `algo`, `train.batch_size`, `train.epochs` and `train.max_steps` set. */
  config: RunConfig;
}

/**
 * Configs that give every algorithm the same number of generated responses per
 * step and the same number of steps, so an ablation compares baselines at one
 * generation budget: ReMax at 16 prompts x (1 sampled + 1 greedy) against GRPO
 * at 8 prompts x 4 samples and PPO at 32 x 1. The budget defaults to what the
 * config's own algorithm generates per step. Epochs grow for algorithms that
 * use more prompts per step, so each reaches the same step count (with fewer
 * prompts than `data.num_prompts` after filtering, a run can stop earlier).
 */
export function equalBudgetRuns(
  config: RunConfig,
  algos: readonly AlgoName[],
  responsesPerStep?: number,
): BudgetedRun[] {
  const budget =
    responsesPerStep ??
    config.train.batch_size * responsesPerPrompt(generationShape(config, config.algo));
  const nPrompts = config.data.num_prompts;
  const steps =
    config.train.max_steps ?? Math.floor(nPrompts / config.train.batch_size) * config.train.epochs;
  return algos.map((algo) => {
    const shape = generationShape(config, algo);
    const per = responsesPerPrompt(shape);
    const promptsPerStep = budget / per;
    if (!Number.isInteger(promptsPerStep)) {
      throw new RemaxError('E_CONFIG', 'the generation budget does not divide evenly', {
        field: 'responses per step',
        value: budget,
        expected: `a multiple of ${per} (${algo} generates ${per} responses per prompt)`,
      });
    }
    const perEpoch = Math.floor(nPrompts / promptsPerStep);
    if (perEpoch === 0) {
      throw new RemaxError('E_CONFIG', 'not enough prompts for one step at this budget', {
        field: 'data.num_prompts',
        value: nPrompts,
        expected: `>= ${promptsPerStep} (${algo} at ${budget} responses per step)`,
      });
    }
    return {
      algo,
      shape,
      promptsPerStep,
      responsesPerStep: budget,
      config: {
        ...config,
        algo,
        train: {
          ...config.train,
          batch_size: promptsPerStep,
          epochs: Math.ceil(steps / perEpoch),
          max_steps: steps,
        },
      },
    };
  });
}
