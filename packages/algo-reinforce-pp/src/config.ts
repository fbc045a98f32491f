import { groupSettingsFields, requireTotalSteps } from '@remax/core';
import { z } from 'zod';

/**
 * The options of `reinforcePPLoss` (camelCase of the fixture's variant fields).
 * Defaults: OpenRLHF at 3c3be62 (openrlhf/cli/train_ppo_ray.py): algo.kl.init_coef
 * 0.01, algo.kl.estimator k1, algo.advantage.gamma 1, reward.clip_range (-10, 10),
 * actor.eps_clip 0.2 (eps_clip_low_high None = (eps_clip, eps_clip)).
 */
export const reinforcePPLossFields = {
  estimator: z
    .enum(['reinforce', 'reinforce_baseline'])
    .default('reinforce')
    .describe(
      "'reinforce' (REINFORCE++) or 'reinforce_baseline' (each prompt's mean score subtracted first) ['reinforce']",
    ),
  beta: z
    .number()
    .min(0)
    .default(0.01)
    .describe('KL coefficient of the per-token reward -beta * kl_t (algo.kl.init_coef) [0.01]'),
  klEstimator: z
    .enum(['k1', 'k2', 'k3'])
    .default('k1')
    .describe(
      'per-token KL estimator of the reward, clamped to [-10, 10] (algo.kl.estimator) [k1]',
    ),
  gamma: z
    .number()
    .min(0)
    .max(1)
    .default(1)
    .describe("discount of the returns; 'reinforce_baseline' needs 1 (algo.advantage.gamma) [1]"),
  rewardClipRange: z
    .tuple([z.number(), z.number()])
    .default([-10, 10])
    .describe(
      'clip of the (shaped) score before it joins the last token (reward.clip_range) [-10, 10]',
    ),
  epsilonLow: z
    .number()
    .min(0)
    .lt(1)
    .default(0.2)
    .describe('lower clip of the token ratio (actor.eps_clip) [0.2]'),
  epsilonHigh: z
    .number()
    .min(0)
    .default(0.2)
    .describe('upper clip of the token ratio (actor.eps_clip) [0.2]'),
};

type LossFields = { estimator: string; gamma: number; rewardClipRange: [number, number] };

/** OpenRLHF silently forces gamma 1 for reinforce_baseline; here a different gamma is an error. */
function checkLossFields(o: LossFields, ctx: z.RefinementCtx): void {
  if (o.estimator === 'reinforce_baseline' && o.gamma !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['gamma'],
      message: "'reinforce_baseline' uses undiscounted returns: gamma must be 1",
    });
  }
  if (!(o.rewardClipRange[0] < o.rewardClipRange[1])) {
    ctx.addIssue({
      code: 'custom',
      path: ['rewardClipRange'],
      message: 'rewardClipRange must be [low, high] with low < high',
    });
  }
}

/** Keys other than these (a caller passing a whole fixture variant) are ignored. */
export const ReinforcePPLossOptionsSchema = z
  .object(reinforcePPLossFields)
  .superRefine(checkLossFields);
export type ReinforcePPLossOptions = z.input<typeof ReinforcePPLossOptionsSchema>;

/**
 * REINFORCE++ settings: the loss fields above, k (rollout.n_samples_per_prompt,
 * default 1; 'reinforce_baseline' needs 2 or more), micro-batching and the
 * toolkit's shared optimizer fields. The optimizer defaults stay the toolkit's
 * (one default per field across algorithms); OpenRLHF's actor uses lr 1e-6,
 * betas (0.9, 0.95) and a cosine schedule with 3% warmup.
 */
export const ReinforcePPConfigSchema = z
  .object({
    ...reinforcePPLossFields,
    ...groupSettingsFields({ min: 1, default: 1, source: 'OpenRLHF rollout.n_samples_per_prompt' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkLossFields(c, ctx);
    requireTotalSteps(c, ctx);
    if (c.estimator === 'reinforce_baseline' && c.samplesPerPrompt < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['samplesPerPrompt'],
        message:
          "'reinforce_baseline' subtracts the mean of each prompt's samples: it needs 2 or more",
      });
    }
  });

export type ReinforcePPConfig = z.output<typeof ReinforcePPConfigSchema>;
export type ReinforcePPConfigInput = z.input<typeof ReinforcePPConfigSchema>;
