// The ReMax algorithm (Li et al. 2023): one step is
//   rollout (sampled + greedy, one pass) -> rewards of both -> scores (policy,
//   reference; no gradient) -> returns -> loss + gradients (micro-batched)
//   -> clip -> AdamW.
import {
  AdaptiveKLController,
  type Algorithm,
  type AlgorithmContext,
  type AlgorithmFactory,
  type AlgorithmState,
  accumulateMicroBatches,
  countResponseTokens,
  disposeBatch,
  type Experience,
  experienceFromSampled,
  experienceMetrics,
  FixedKLController,
  fillMasked,
  type KLController,
  keptRows,
  mean,
  nonFiniteRows,
  ParameterUpdater,
  PhaseClock,
  parseWith,
  policyGradientLoss,
  RemaxError,
  type RolloutSequences,
  responseSums,
  responseTokenMean,
  rolloutTISWeights,
  type SequenceBatch,
  type StepMetrics,
  scoreInMicroBatches,
  sliceRows,
  TensorBytesWatermark,
  type TokenBatch,
  tf,
  trainPhaseMetrics,
  updateMetrics,
} from '@remax/core';
import { type RemaxConfig, type RemaxConfigInput, RemaxConfigSchema } from './config.js';
import { remaxReturnsFromScores } from './returns.js';

/** One batch of sampled responses with everything the loss needs. */
export interface RemaxExperience extends Experience {
  /** The sampled sequences [B, P + R] (owned; freed by dispose). */
  readonly batch: SequenceBatch;
  /** Returns [B, T-1], constants, zero outside each response. */
  readonly returns: number[][];
  /** Response tokens in the batch: the loss's denominator. */
  readonly responseTokens: number;
  /** Mean per-sequence KL penalty (what the adaptive controller observes). */
  readonly sequenceKl: number;
  /** Rows that take part in the loss (a non-finite reward masks its row). */
  readonly keptRows: number;
}

export class ReMax implements Algorithm<RemaxExperience> {
  readonly name = 'remax';
  readonly config: RemaxConfig;
  private readonly kl: KLController;
  private readonly updater: ParameterUpdater;

  constructor(
    config: RemaxConfigInput,
    private readonly ctx: AlgorithmContext,
  ) {
    this.config = parseWith(RemaxConfigSchema, config, { what: 'ReMax config' });
    const c = this.config;
    this.kl =
      c.klTarget === null
        ? new FixedKLController(c.klCtl)
        : new AdaptiveKLController(c.klCtl, c.klTarget, c.klHorizon);
    this.updater = new ParameterUpdater(ctx.policy.parameters(), c);
  }

  async makeExperience(prompts: TokenBatch): Promise<RemaxExperience> {
    const c = this.config;
    const clock = new PhaseClock();
    const memory = new TensorBytesWatermark();
    // 1. rollout: a sampled and a greedy response per prompt, one batched pass
    const seed = this.ctx.rng.nextUint32();
    const rollout = await clock.time('rollout', () =>
      this.ctx.generate(prompts, { samplesPerPrompt: 1, greedy: true, seed }),
    );
    const { sampled, greedy } = rollout;
    memory.sample();
    try {
      return await experienceFromSampled(sampled, async (batch) => {
        if (!greedy) {
          throw new RemaxError('E_STATE', 'ReMax needs the greedy responses from generate', {
            field: 'rollout.greedy',
            expected: 'a GenerateFn that honours request.greedy',
          });
        }
        // 2. rewards of the sampled and the greedy responses
        const reward = await clock.time('reward', () => this.ctx.reward(sampled));
        const greedyReward = await clock.time('reward', () => this.ctx.reward(greedy));
        checkRewards(reward, sampled, 'sampled');
        checkRewards(greedyReward, greedy, 'greedy');
        // 3. policy and reference scores (no gradient), micro-batched
        const scores = clock.timeSync('score', () =>
          scoreInMicroBatches(this.ctx.policy, this.ctx.reference, sampled, {
            microBatchSize: c.microBatchSize,
            klPenalty: c.klPenalty,
            klEstimator: c.klEstimator,
            onPeak: () => memory.sample(),
            responseOnly: true, // returns, KL and metrics read columns >= promptLength - 1 only
          }),
        );
        // 4. returns: the greedy baseline and the per-step KL penalty. A row
        //    whose reward or greedy reward is not finite is masked: zero returns
        //    (no gradient), left out of the token count and of the reward metrics
        const start = sampled.promptLength - 1;
        const masked = nonFiniteRows(reward.length, reward, greedyReward);
        const baseline = remaxReturnsFromScores(
          scores,
          fillMasked(reward, masked, 0),
          fillMasked(greedyReward, masked, 0),
          { start, klCtl: this.kl.value, gamma: c.gamma, rewardClip: c.rewardClip },
        );
        const { advantages, clipped } = baseline;
        const plainReturns = baseline.returns.map((row, b) => (masked[b] ? row.map(() => 0) : row));
        const kept = keptRows(reward, masked);
        const keptGreedy = keptRows(greedyReward, masked);
        // 5. optional truncated importance sampling: the returns are constants, so weighting
        //    them weights each token's loss term without a gradient through the weight
        const tis =
          c.tisCap === null ? null : rolloutTISWeights(scores.logprobs, sampled, start, c.tisCap);
        const returns = tis
          ? plainReturns.map((row, b) => row.map((r, t) => r * (tis[b]?.[t] as number)))
          : plainReturns;
        const penaltyPerSequence = responseSums(scores.kl, scores.actionMask, start);
        const generated = sum(sampled.responseLengths) + sum(greedy.responseLengths);
        const metrics: StepMetrics = {
          ...experienceMetrics({
            reward: kept,
            sampled,
            scores,
            clock,
            memory,
            generatedTokens: generated,
          }),
          'reward/greedy_mean': mean(keptGreedy),
          'reward/minus_greedy_mean': mean(kept) - mean(keptGreedy),
          'reward/clip_fraction': clipped.filter((x, b) => x && !masked[b]).length / kept.length,
          'reward/nonfinite_rows': reward.length - kept.length,
          'returns/advantage_mean': mean(keptRows(advantages, masked)),
          'kl/ctl': this.kl.value,
          'response/greedy_length_mean': mean(greedy.responseLengths),
          ...(tis && {
            'rollout/tis_weight_mean': responseTokenMean(tis, scores.actionMask, start),
          }),
        };
        return {
          numSequences: reward.length,
          metrics,
          batch,
          returns,
          responseTokens: countResponseTokens(
            scores.actionMask.filter((_, b) => !masked[b]),
            start,
          ),
          sequenceKl: mean(penaltyPerSequence),
          keptRows: kept.length,
          dispose: () => disposeBatch(batch),
        };
      });
    } finally {
      if (greedy) disposeRollout(greedy);
    }
  }

  async trainStep(experience: RemaxExperience): Promise<StepMetrics> {
    const c = this.config;
    const clock = new PhaseClock();
    const memory = new TensorBytesWatermark();
    const { batch, returns } = experience;
    const rows = batch.inputIds.shape[0];
    const policy = this.ctx.policy;
    const normalizer = Math.max(experience.responseTokens, 1);
    // 5. loss and gradients per micro-batch; normalised by the whole batch's
    //    token count, so the accumulated gradient is the full-batch gradient
    clock.timeSync('train', () =>
      // nothing to learn from when every row is masked: the update is skipped
      experience.keptRows === 0
        ? undefined
        : accumulateMicroBatches(this.updater, rows, c.microBatchSize, memory, (s, e) => {
            const part = sliceRows(batch, s, e);
            try {
              return policyGradientLoss(policy, part, returns.slice(s, e), normalizer);
            } finally {
              disposeBatch(part);
            }
          }),
    );
    // 6. clip + AdamW; a non-finite loss or gradient, or a batch with every
    //    row masked, skips the update
    const update = clock.timeSync('update', () =>
      experience.keptRows > 0 ? this.updater.step() : this.updater.skip(),
    );
    // 7. the adaptive KL coefficient follows the observed KL
    if (!update.skipped) this.kl.update(experience.sequenceKl, experience.numSequences);
    return {
      step: update.step,
      loss: update.loss,
      ...experience.metrics,
      ...updateMetrics(update),
      ...trainPhaseMetrics(clock, memory, experience.metrics, rows * batch.inputIds.shape[1]),
    };
  }

  getState(): AlgorithmState {
    const { json, tensors } = this.updater.getState();
    return { json: { ...json, klCtl: this.kl.value }, tensors };
  }

  setState(state: AlgorithmState): void {
    this.updater.setState(state);
    const klCtl = state.json['klCtl'];
    if (typeof klCtl !== 'number' || !Number.isFinite(klCtl)) {
      throw new RemaxError('E_STATE', 'ReMax state has no valid klCtl', {
        field: 'klCtl',
        value: klCtl,
      });
    }
    if (this.kl instanceof AdaptiveKLController) this.kl.value = klCtl;
  }

  dispose(): void {
    this.updater.dispose();
  }
}

function disposeRollout(r: RolloutSequences): void {
  tf.dispose([r.inputIds, r.attentionMask]);
  r.logprobs?.dispose();
}

function checkRewards(rewards: Float32Array, rows: SequenceBatch, which: string): void {
  if (rewards.length !== rows.inputIds.shape[0]) {
    throw new RemaxError(
      'E_INPUT',
      `reward function returned the wrong number of ${which} rewards`,
      {
        field: 'context.reward',
        value: rewards.length,
        expected: `${rows.inputIds.shape[0]} (one per row)`,
      },
    );
  }
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** `algorithms.remax` for the example: swap algorithms with one config field. */
export const remaxAlgorithm: AlgorithmFactory<typeof RemaxConfigSchema, RemaxExperience> = {
  name: 'remax',
  configSchema: RemaxConfigSchema,
  needsCritic: false,
  create: (config, context) => new ReMax(config, context),
};
