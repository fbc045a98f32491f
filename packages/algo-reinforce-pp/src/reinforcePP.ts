// The REINFORCE++ algorithm (Hu 2025): one step is
//   rollout (k samples per prompt) -> rewards -> scores (policy, reference;
//   no gradient) -> per-token KL rewards, returns, global whitening -> clipped
//   token-mean loss + gradients (micro-batched) -> clip -> AdamW.
// The step's plumbing is @remax/core's GroupAlgorithm; REINFORCE++ brings its loss.
import {
  type AlgorithmContext,
  type AlgorithmFactory,
  GroupAlgorithm,
  type GroupExperience,
  mean,
  parseWith,
  responseMask,
  type ScoredBatch,
  type StepMetrics,
  type tf,
} from '@remax/core';
import { reinforcePPAdvantages } from './advantages.js';
import {
  type ReinforcePPConfig,
  type ReinforcePPConfigInput,
  ReinforcePPConfigSchema,
} from './config.js';
import { reinforcePPLoss } from './loss.js';

export class ReinforcePP extends GroupAlgorithm<ReinforcePPConfig> {
  readonly name = 'reinforce_pp';

  constructor(config: ReinforcePPConfigInput, ctx: AlgorithmContext) {
    const c = parseWith(ReinforcePPConfigSchema, config, { what: 'REINFORCE++ config' });
    super(c, ctx, { klEstimator: c.klEstimator, samplesPerPrompt: c.samplesPerPrompt });
  }

  protected loss(inputs: ScoredBatch): tf.Scalar {
    return reinforcePPLoss(this.ctx.policy, this.ctx.reference, inputs, this.config).loss;
  }

  /** Rewards, returns and advantages for the metrics; the loss recomputes them from the same numbers. */
  protected experienceMetrics({ scored, batch, scores, groupSize }: GroupExperience): StepMetrics {
    const a = reinforcePPAdvantages(
      {
        scores,
        logprobs: scored.logprobs,
        refLogprobs: scored.refLogprobs,
        mask: responseMask(scored.actionMask, batch.promptLength - 1),
        groupSize,
      },
      this.config,
    );
    return {
      'reward/clip_fraction': a.clipped.filter(Boolean).length / a.clipped.length,
      'reward/shaped_mean': mean(a.shapedScores),
      'returns/mean': a.whitenMean,
      'returns/std': 1 / a.whitenRstd,
    };
  }
}

/** `algorithms.reinforce_pp` for the example: swap algorithms with one config field. */
export const reinforcePPAlgorithm: AlgorithmFactory<
  typeof ReinforcePPConfigSchema,
  GroupExperience
> = {
  name: 'reinforce_pp',
  configSchema: ReinforcePPConfigSchema,
  needsCritic: false,
  create: (config, context) => new ReinforcePP(config, context),
};
