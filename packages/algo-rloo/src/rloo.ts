// The RLOO algorithm (Ahmadian et al. 2024): one step is
//   rollout (k samples per prompt) -> rewards -> scores (policy, reference;
//   no gradient) -> leave-one-out advantages -> loss + gradients
//   (micro-batched) -> clip -> AdamW.
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
  responseSums,
  type StepMetrics,
  sampleScoredGroups,
  std,
  type TokenBatch,
  trainInMicroBatches,
} from '@remax/core';
import { rlooAdvantages } from './advantages.js';
import { type RlooConfig, type RlooConfigInput, RlooConfigSchema } from './config.js';
import { rlooLoss } from './loss.js';

export class Rloo implements Algorithm<GroupExperience> {
  readonly name = 'rloo';
  readonly config: RlooConfig;
  private readonly updater: ParameterUpdater;

  constructor(
    config: RlooConfigInput,
    private readonly ctx: AlgorithmContext,
  ) {
    this.config = parseWith(RlooConfigSchema, config, { what: 'RLOO config' });
    this.updater = new ParameterUpdater(ctx.policy.parameters(), this.config);
  }

  async makeExperience(prompts: TokenBatch): Promise<GroupExperience> {
    const c = this.config;
    // 1-3. k samples per prompt, their rewards, policy and reference scores;
    //      the KL of the sequence reward is the first-order log ratio (k1)
    const experience = await sampleScoredGroups(this.ctx, prompts, {
      samplesPerPrompt: c.samplesPerPrompt,
      microBatchSize: c.microBatchSize,
      klPenalty: 'sampled',
      klEstimator: 'k1',
    });
    // 4. the advantages, here for the metrics; the loss recomputes them from the same numbers
    const { scored, batch, scores, groupSize } = experience;
    const klSum = responseSums(scored.kl, scored.actionMask, batch.promptLength - 1);
    const { rlhfReward, advantages } = rlooAdvantages({ scores, klSum, groupSize }, c);
    const metrics: StepMetrics = {
      ...experience.metrics,
      'reward/rlhf_mean': mean(rlhfReward),
      'advantages/std': std(advantages),
      'advantages/abs_mean': mean(advantages.map(Math.abs)),
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
      (s, e) => rlooLoss(policy, reference, experienceRows(experience, s, e), this.config).loss,
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

/** `algorithms.rloo` for the example: swap algorithms with one config field. */
export const rlooAlgorithm: AlgorithmFactory<typeof RlooConfigSchema, GroupExperience> = {
  name: 'rloo',
  configSchema: RlooConfigSchema,
  needsCritic: false,
  create: (config, context) => new Rloo(config, context),
};
