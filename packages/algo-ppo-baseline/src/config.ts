import { microBatchSizeField, optimizerFields, requireTotalSteps, tisCapField } from '@remax/core';
import { z } from 'zod';

const optimizer = z.object(optimizerFields).strict().superRefine(requireTotalSteps);

/**
 * PPO settings, DeepSpeed-Chat step-3 defaults (kl_ctl 0.1, clip_reward_value 5,
 * gamma 1, lam 0.95, cliprange 0.2, cliprange_value 0.2, ppo_epochs 1).
 */
export const PpoConfigSchema = z
  .object({
    klCtl: z.number().min(0).default(0.1).describe('KL coefficient of the per-token penalty [0.1]'),
    rewardClip: z
      .number()
      .positive()
      .default(5)
      .describe("clip of the reward-model score (DeepSpeed-Chat's clip_reward_value) [5]"),
    gamma: z.number().min(0).max(1).default(1).describe('GAE discount [1.0]'),
    lam: z.number().min(0).max(1).default(0.95).describe('GAE lambda [0.95]'),
    cliprange: z.number().positive().default(0.2).describe('actor ratio clip [0.2]'),
    cliprangeValue: z.number().positive().default(0.2).describe('critic value clip [0.2]'),
    ...tisCapField,
    ppoEpochs: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe('passes over each experience batch [1]'),
    microBatchSize: microBatchSizeField,
    actor: optimizer.prefault({}).describe('actor (policy) optimizer'),
    critic: optimizer
      .prefault({ lr: 5e-6 })
      .describe('critic optimizer (DeepSpeed-Chat trains the critic at a higher lr) [lr 5e-6]'),
  })
  .strict();

export type PpoConfig = z.output<typeof PpoConfigSchema>;
export type PpoConfigInput = z.input<typeof PpoConfigSchema>;
