// The skeleton of a critic-free group algorithm (RLOO, REINFORCE++, GRPO): every step
// samples k responses per prompt, scores them, and trains on the algorithm's
// loss over micro-batches of the scored rows. A subclass brings its loss and
// its own metrics; rollout, scoring, accumulation, the update and the
// checkpoint state are the same for all of them.

import { z } from 'zod';
import type { Algorithm, AlgorithmContext, AlgorithmState, StepMetrics } from '../algorithm.js';
import type { tf } from '../tf.js';
import type { TokenBatch } from '../types.js';
import {
  microBatchSizeField,
  type OptimizerSettings,
  optimizerFields,
  ParameterUpdater,
} from '../updater.js';
import {
  experienceRows,
  type GroupExperience,
  sampleScoredGroups,
  trainInMicroBatches,
} from './groupSteps.js';
import type { KLEstimator } from './kl.js';
import type { ScoredBatch } from './scoredBatch.js';

/** The settings the skeleton reads from the config (besides the optimizer's). */
export interface GroupSettings extends OptimizerSettings {
  /** Rows per forward/backward (scoring and training). */
  microBatchSize: number;
}

/** How a group algorithm runs its step, whatever its config calls these. */
export interface GroupStepOptions {
  /** The sampled-token KL the experience's `kl/penalty` metric reports. */
  klEstimator: KLEstimator;
  /** k sampled responses per prompt. */
  samplesPerPrompt: number;
  /** Optimizer updates per batch of experience (GRPO's numIterations) [1]. */
  updatesPerBatch?: number;
}

/**
 * zod fields of GroupSettings, spread into a group algorithm's config schema:
 * k (its bounds and default are the algorithm's), micro-batching, the optimizer.
 */
export function groupSettingsFields(samplesPerPrompt: {
  min: number;
  default: number;
  /** Where the default comes from, shown in the help text. */
  source: string;
}) {
  return {
    samplesPerPrompt: z
      .number()
      .int()
      .min(samplesPerPrompt.min)
      .default(samplesPerPrompt.default)
      .describe(
        `k: sampled responses per prompt, at least ${samplesPerPrompt.min} [${samplesPerPrompt.default}, ${samplesPerPrompt.source}]`,
      ),
    microBatchSize: microBatchSizeField,
    ...optimizerFields,
  };
}

export abstract class GroupAlgorithm<C extends GroupSettings>
  implements Algorithm<GroupExperience>
{
  abstract readonly name: string;
  private readonly updater: ParameterUpdater;

  constructor(
    readonly config: C,
    protected readonly ctx: AlgorithmContext,
    private readonly stepOptions: GroupStepOptions,
  ) {
    this.updater = new ParameterUpdater(ctx.policy.parameters(), config);
  }

  /** The algorithm's loss of `inputs.rows` of a scored batch, as their share of the batch's loss. */
  protected abstract loss(inputs: ScoredBatch): tf.Scalar;

  /** The algorithm's own metrics of a freshly scored experience (advantages, ...). */
  protected abstract experienceMetrics(experience: GroupExperience): StepMetrics;

  async makeExperience(prompts: TokenBatch): Promise<GroupExperience> {
    // 1-3. k samples per prompt, their rewards, policy and reference scores (no gradient)
    const experience = await sampleScoredGroups(this.ctx, prompts, {
      samplesPerPrompt: this.stepOptions.samplesPerPrompt,
      microBatchSize: this.config.microBatchSize,
      klPenalty: 'sampled',
      klEstimator: this.stepOptions.klEstimator,
    });
    try {
      return {
        ...experience,
        metrics: { ...experience.metrics, ...this.experienceMetrics(experience) },
      };
    } catch (e) {
      experience.dispose();
      throw e;
    }
  }

  async trainStep(experience: GroupExperience): Promise<StepMetrics> {
    // 4-5. the loss per micro-batch (its share of the batch's), then clip + AdamW
    const { metrics } = trainInMicroBatches(
      this.updater,
      experience,
      this.config.microBatchSize,
      (s, e) => this.loss(experienceRows(experience, s, e)),
      this.stepOptions.updatesPerBatch,
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
