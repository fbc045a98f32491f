import { microBatchSizeField, optimizerFields, requireTotalSteps, tisCapField } from '@remax/core';
import { z } from 'zod';

/**
 * ReMax settings (defaults: the Mistral-7B-ReMax-v0.1 card where it says,
 * liziniu/ReMax otherwise). Optimizer settings follow torch.optim.AdamW and
 * transformers' get_*_schedule_with_warmup.
 */
export const RemaxConfigSchema = z
  .object({
    klPenalty: z
      .enum(['full_step', 'sampled'])
      .default('full_step')
      .describe(
        "KL in the returns: full-vocabulary KL per step ('full_step', the card) or a sampled-token estimate",
      ),
    klEstimator: z
      .enum(['k1', 'k2', 'k3'])
      .default('k1')
      .describe(
        "sampled-token estimator when klPenalty is 'sampled': k1 log-ratio, k2 squared/2, k3 (r-1)-log r",
      ),
    klCtl: z
      .number()
      .min(0)
      .default(0.1)
      .describe('KL coefficient (initial value when adaptive) [0.1]'),
    klTarget: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe(
        'adaptive KL controller target per-sequence KL (Ziegler et al.); null keeps klCtl fixed [null]',
      ),
    klHorizon: z
      .number()
      .positive()
      .default(10000)
      .describe('adaptive KL controller horizon in sequences [10000]'),
    rewardClip: z
      .number()
      .positive()
      .default(1)
      .describe('clip of reward - greedy reward to [-c, c] [1.0]'),
    gamma: z.number().min(0).max(1).default(1).describe('discount of the reward term [1.0]'),
    ...tisCapField,
    microBatchSize: microBatchSizeField,
    ...optimizerFields,
  })
  .strict()
  .superRefine(requireTotalSteps);

export type RemaxConfig = z.output<typeof RemaxConfigSchema>;
export type RemaxConfigInput = z.input<typeof RemaxConfigSchema>;
