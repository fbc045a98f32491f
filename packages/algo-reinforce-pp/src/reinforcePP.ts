// The REINFORCE++ algorithm (Hu 2025): one step is
//   rollout (k samples per prompt) -> rewards -> scores (policy, reference;
//   no gradient) -> per-token KL rewards, returns, global whitening -> clipped
//   token-mean loss + gradients (micro-batched) -> clip -> AdamW.
import {
  type Algorithm,
  type AlgorithmContext,
  type AlgorithmFactory,
  type AlgorithmState,
  experienceRows,
  type GroupExperience,
  mean,
  ParameterUpdater,
  parseWith,
  responseMask,
  type StepMetrics,
  sampleScoredGroups,
  type TokenBatch,
  trainInMicroBatches,
} from '@remax/core';
import { reinforcePPAdvantages } from './advantages.js';
import {
  type ReinforcePPConfig,
  type ReinforcePPConfigInput,
  ReinforcePPConfigSchema,
} from './config.js';
import { reinforcePPLoss } from './loss.js';

export class ReinforcePP implements Algorithm<GroupExperience> {
  readonly name = 'reinforce_pp';
  readonly config: ReinforcePPConfig;
  private readonly updater: ParameterUpdater;

  constructor(
    config: ReinforcePPConfigInput,
    private readonly ctx: AlgorithmContext,
  ) {
    this.config = parseWith(ReinforcePPConfigSchema, config, { what: 'REINFORCE++ config' });
    this.updater = new ParameterUpdater(ctx.policy.parameters(), this.config);
  }

  async makeExperience(prompts: TokenBatch): Promise<GroupExperience> {
    const c = this.config;
    // 1-3. k samples per prompt, their rewards, policy and reference scores
    const experience = await sampleScoredGroups(this.ctx, prompts, {
      samplesPerPrompt: c.samplesPerPrompt,
      microBatchSize: c.microBatchSize,
      klPenalty: 'sampled',
      klEstimator: c.klEstimator,
    });
    // 4. rewards, returns and advantages, here for the metrics; the loss
    //    recomputes them from the same numbers
    const { scored, batch, scores, groupSize } = experience;
    const a = reinforcePPAdvantages(
      {
        scores,
        logprobs: scored.logprobs,
        refLogprobs: scored.refLogprobs,
        mask: responseMask(scored.actionMask, batch.promptLength - 1),
        groupSize,
      },
      c,
    );
    const metrics: StepMetrics = {
      ...experience.metrics,
      'reward/clip_fraction': a.clipped.filter(Boolean).length / a.clipped.length,
      'reward/shaped_mean': mean(a.shapedScores),
      'returns/mean': a.whitenMean,
      'returns/std': 1 / a.whitenRstd,
    };
    return { ...experience, metrics };
  }

  async trainStep(experience: GroupExperience): Promise<StepMetrics> {
    const { policy, reference } = this.ctx;
    // 5-6. the loss per micro-batch (its share of the batch's), then clip + AdamW
    const { metrics } = trainInMicroBatches(
      this.updater,
      experience,
      this.config.microBatchSize,
      (s, e) =>
        reinforcePPLoss(policy, reference, experienceRows(experience, s, e), this.config).loss,
    );
    return metrics;
  }

  getState(): AlgorithmState {
    return this.updater.getState();
  }

  setState(state: AlgorithmState): void {
    this.updater.setState(state);
  }

  dispose(): void {
    this.updater.dispose();
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
