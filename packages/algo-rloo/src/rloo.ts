// The RLOO algorithm (Ahmadian et al. 2024): one step is
//   rollout (k samples per prompt) -> rewards -> scores (policy, reference;
//   no gradient) -> leave-one-out advantages -> loss + gradients
//   (micro-batched) -> clip -> AdamW.
// The step's plumbing is @remax/core's GroupAlgorithm; RLOO brings its loss.
import {
  type AlgorithmContext,
  type AlgorithmFactory,
  GroupAlgorithm,
  type GroupExperience,
  mean,
  parseWith,
  responseSums,
  type ScoredBatch,
  type StepMetrics,
  std,
  type tf,
} from '@remax/core';
import { rlooAdvantages } from './advantages.js';
import { type RlooConfig, type RlooConfigInput, RlooConfigSchema } from './config.js';
import { rlooLoss } from './loss.js';

export class Rloo extends GroupAlgorithm<RlooConfig> {
  readonly name = 'rloo';

  constructor(config: RlooConfigInput, ctx: AlgorithmContext) {
    const c = parseWith(RlooConfigSchema, config, { what: 'RLOO config' });
    // the KL of the sequence reward is the first-order log ratio (k1), as in TRL
    super(c, ctx, { klEstimator: 'k1', samplesPerPrompt: c.samplesPerPrompt });
  }

  protected loss(inputs: ScoredBatch): tf.Scalar {
    return rlooLoss(this.ctx.policy, this.ctx.reference, inputs, this.config).loss;
  }

  /** The advantages for the metrics; the loss recomputes them from the same numbers. */
  protected experienceMetrics({ scored, batch, scores, groupSize }: GroupExperience): StepMetrics {
    const klSum = responseSums(scored.kl, scored.actionMask, batch.promptLength - 1);
    const { rlhfReward, advantages } = rlooAdvantages({ scores, klSum, groupSize }, this.config);
    return {
      'reward/rlhf_mean': mean(rlhfReward),
      'advantages/std': std(advantages),
      'advantages/abs_mean': mean(advantages.map(Math.abs)),
    };
  }
}

/** `algorithms.rloo` for the example: swap algorithms with one config field. */
export const rlooAlgorithm: AlgorithmFactory<typeof RlooConfigSchema, GroupExperience> = {
  name: 'rloo',
  configSchema: RlooConfigSchema,
  needsCritic: false,
  create: (config, context) => new Rloo(config, context),
};
