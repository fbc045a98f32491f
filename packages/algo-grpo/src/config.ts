import { microBatchSizeField, optimizerFields, requireTotalSteps } from '@remax/core';
import { z } from 'zod';

/**
 * GRPO settings, named as TRL's GRPOConfig in camelCase (huggingface/trl@f2cd577
 * trl/trainer/grpo_config.py). Defaults are TRL's except two, which keep the
 * KL and the asymmetric clip the method is about: `beta` 0.04 (DeepSeekMath's
 * value and TRL's default before huggingface/trl#3516 set 0.0, which drops the
 * reference model) and `epsilonHigh` 0.28 (DAPO's clip-higher, which TRL's help
 * recommends; TRL's default repeats `epsilon`). Optimizer settings are the
 * shared ones of @remax/core.
 */
export const GrpoConfigSchema = z
  .object({
    numGenerations: z
      .number()
      .int()
      .min(2)
      .default(8)
      .describe('sampled responses per prompt k, the group size (TRL num_generations) [8]'),
    scaleRewards: z
      .enum(['group', 'batch', 'none'])
      .default('group')
      .describe(
        "divide r - group mean by the group's std ('group'), the batch's ('batch') or not at all ('none', Dr. GRPO) [group]",
      ),
    lossType: z
      .enum(['grpo', 'dapo', 'dr_grpo'])
      .default('dapo')
      .describe(
        "token-loss aggregation: mean of per-sequence token means ('grpo'), sum / response tokens ('dapo'), sum / (rows * maxCompletionLength) ('dr_grpo') [dapo]",
      ),
    beta: z
      .number()
      .min(0)
      .default(0.04)
      .describe('coefficient of the k3 KL to the reference in the loss; 0 = no KL term [0.04]'),
    epsilonLow: z
      .number()
      .min(0)
      .lt(1)
      .default(0.2)
      .describe('lower clip of the ratio: 1 - epsilonLow (TRL epsilon) [0.2]'),
    epsilonHigh: z
      .number()
      .min(0)
      .default(0.28)
      .describe('upper clip of the ratio: 1 + epsilonHigh (TRL epsilon_high) [0.28]'),
    maxCompletionLength: z
      .number()
      .int()
      .positive()
      .default(512)
      .describe(
        "the constant of the 'dr_grpo' normaliser; set it to the generator's maxNewTokens (TRL max_completion_length) [512]",
      ),
    numIterations: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe(
        'optimizer updates per batch of experience (TRL num_iterations, mu in the paper); > 1 makes the clip bite [1]',
      ),
    microBatchSize: microBatchSizeField,
    ...optimizerFields,
  })
  .strict()
  .superRefine(requireTotalSteps);

export type GrpoConfig = z.output<typeof GrpoConfigSchema>;
export type GrpoConfigInput = z.input<typeof GrpoConfigSchema>;
/** How rewards are scaled into advantages. */
export type ScaleRewards = GrpoConfig['scaleRewards'];
/** How per-token losses are aggregated into the batch loss. */
export type LossType = GrpoConfig['lossType'];
