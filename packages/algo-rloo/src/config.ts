import { groupSettingsFields, requireTotalSteps } from '@remax/core';
import { z } from 'zod';

/**
 * The options of `rlooLoss` (camelCase of the fixture's variant fields).
 * Defaults: TRL's RLOOConfig at huggingface/trl@f2cd577 (trl/trainer/rloo_config.py):
 * beta 0.05, epsilon 0.2 with epsilon_high None (= epsilon), normalize_advantages False.
 */
export const rlooLossFields = {
  form: z
    .enum(['classic', 'trl'])
    .default('classic')
    .describe(
      "'classic': -(1/B) sum_i A_i sum_t log p (Ahmadian et al.); 'trl': TRL RLOOTrainer's clipped sequence ratio ['classic']",
    ),
  beta: z
    .number()
    .min(0)
    .default(0.05)
    .describe(
      'KL coefficient of the sequence reward R = score - beta * sum_t (lp - ref) [0.05, TRL]',
    ),
  normalizeAdvantages: z
    .boolean()
    .default(false)
    .describe('whiten the advantages over the batch (unbiased std + 1e-4) [false, TRL]'),
  epsilonLow: z
    .number()
    .min(0)
    .lt(1)
    .default(0.2)
    .describe("lower clip of the sequence ratio, form 'trl' (TRL epsilon) [0.2]"),
  epsilonHigh: z
    .number()
    .min(0)
    .default(0.2)
    .describe(
      "upper clip of the sequence ratio, form 'trl' (TRL epsilon_high, None = epsilon) [0.2]",
    ),
};

/** Keys other than these (a caller passing a whole fixture variant) are ignored. */
export const RlooLossOptionsSchema = z.object(rlooLossFields);
export type RlooLossOptions = z.input<typeof RlooLossOptionsSchema>;

/**
 * RLOO settings: the loss fields above, k (TRL num_generations, default 2),
 * micro-batching and the toolkit's shared optimizer fields. The optimizer
 * defaults stay the toolkit's (one default per field across algorithms, so
 * ablations compare algorithms, not optimizers); TRL's own are lr 1e-6 and
 * transformers' AdamW betas (0.9, 0.999).
 */
export const RlooConfigSchema = z
  .object({
    ...rlooLossFields,
    // the leave-one-out baseline needs 2 or more samples per prompt
    ...groupSettingsFields({ min: 2, default: 2, source: 'TRL num_generations' }),
  })
  .strict()
  .superRefine(requireTotalSteps);

export type RlooConfig = z.output<typeof RlooConfigSchema>;
export type RlooConfigInput = z.input<typeof RlooConfigSchema>;
