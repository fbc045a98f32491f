// The GRPO algorithm (Shao et al. 2024, as TRL's GRPOTrainer runs it): one step is
//   rollout (k samples per prompt, no greedy rows) -> rewards -> scores (policy,
//   reference; no gradient) -> [loss + gradients (micro-batched) -> clip -> AdamW]
//   x numIterations. No critic, no KL in the reward: the KL is a loss term.
// The step's plumbing is @remax/core's GroupAlgorithm; GRPO brings its loss.
import {
  type AlgorithmContext,
  type AlgorithmFactory,
  GroupAlgorithm,
  type GroupExperience,
  mean,
  parseWith,
  type ScoredBatch,
  type StepMetrics,
  type tf,
} from '@remax/core';
import { grpoAdvantages } from './advantages.js';
import { type GrpoConfig, type GrpoConfigInput, GrpoConfigSchema } from './config.js';
import { type GrpoLossOptions, grpoLoss } from './loss.js';

/** One rollout's groups with everything grpoLoss needs (k = numGenerations). */
export type GrpoExperience = GroupExperience;

export class GRPO extends GroupAlgorithm<GrpoConfig> {
  readonly name = 'grpo';
  private readonly lossOptions: GrpoLossOptions;
  /** Clipped tokens over the step's loss calls, and the batch's response tokens. */
  private clip = { low: 0, high: 0, responseTokens: 0 };

  constructor(config: GrpoConfigInput, ctx: AlgorithmContext) {
    const c = parseWith(GrpoConfigSchema, config, { what: 'GRPO config' });
    // k3 per token for the kl/penalty metric, as TRL logs it
    super(c, ctx, {
      klEstimator: 'k3',
      samplesPerPrompt: c.numGenerations,
      updatesPerBatch: c.numIterations,
    });
    this.lossOptions = {
      scaleRewards: c.scaleRewards,
      lossType: c.lossType,
      beta: c.beta,
      epsilonLow: c.epsilonLow,
      epsilonHigh: c.epsilonHigh,
      maxCompletionLength: c.maxCompletionLength,
    };
  }

  protected loss({ rows, oldLogprobs, ...batch }: ScoredBatch): tf.Scalar {
    // TRL compares with the sampling policy's log-probabilities only when it
    // updates more than once; one update uses the current ones, detached
    const inputs = this.config.numIterations > 1 && oldLogprobs ? { ...batch, oldLogprobs } : batch;
    const { loss, stats } = grpoLoss(this.ctx.policy, this.ctx.reference, inputs, {
      ...this.lossOptions,
      ...(rows && { rows }),
    });
    this.clip.low += stats.lowClipped;
    this.clip.high += stats.highClipped;
    if ((rows?.[0] ?? 0) === 0) this.clip.responseTokens += stats.responseTokens;
    return loss;
  }

  protected experienceMetrics({ scores }: GroupExperience): StepMetrics {
    const c = this.config;
    const advantages = grpoAdvantages(scores, c.numGenerations, c.scaleRewards);
    return {
      'reward/group_std_mean': mean(advantages.std),
      'reward/frac_zero_std': advantages.zeroStdFraction,
      'kl/beta': c.beta,
    };
  }

  override async trainStep(experience: GrpoExperience): Promise<StepMetrics> {
    this.clip = { low: 0, high: 0, responseTokens: 0 };
    const metrics = await super.trainStep(experience);
    // over every update of the step, as the clipped counts
    const tokens = Math.max(this.clip.responseTokens, 1);
    return {
      ...metrics,
      'policy/clip_low_fraction': this.clip.low / tokens,
      'policy/clip_high_fraction': this.clip.high / tokens,
    };
  }
}

/** `algorithms.grpo` for the example: swap algorithms with one config field. */
export const grpoAlgorithm: AlgorithmFactory<typeof GrpoConfigSchema, GrpoExperience> = {
  name: 'grpo',
  configSchema: GrpoConfigSchema,
  needsCritic: false,
  create: (config, context) => new GRPO(config, context),
};
