// The GRPO algorithm (Shao et al. 2024, as TRL's GRPOTrainer runs it): one step is
//   rollout (k samples per prompt, no greedy rows) -> rewards -> scores (policy,
//   reference; no gradient) -> [loss + gradients (micro-batched) -> clip -> AdamW]
//   x numIterations. No critic, no KL in the reward: the KL is a loss term.
import {
  type Algorithm,
  type AlgorithmContext,
  type AlgorithmFactory,
  type AlgorithmState,
  disposeBatch,
  type Experience,
  experienceMetrics,
  mean,
  microBatches,
  ParameterUpdater,
  PhaseClock,
  parseWith,
  RemaxError,
  type SequenceBatch,
  type StepMetrics,
  scoreInMicroBatches,
  TensorBytesWatermark,
  type TokenBatch,
  tf,
  trainPhaseMetrics,
  type UpdateResult,
} from '@remax/core';
import { grpoAdvantages } from './advantages.js';
import { type GrpoConfig, type GrpoConfigInput, GrpoConfigSchema } from './config.js';
import { type GrpoLossInputs, type GrpoLossOptions, grpoLoss } from './loss.js';

/** One rollout's groups with everything grpoLoss needs. */
export interface GrpoExperience extends Experience {
  /** The sampled sequences [N, P + R], N = prompts x numGenerations (owned; freed by dispose). */
  readonly batch: SequenceBatch;
  /** The reward model's score of each row [N]. */
  readonly scores: Float32Array;
  /** Reference log-probabilities [N, T-1] from scoring (absent when beta is 0). */
  readonly refLogprobs?: number[][];
  /** Log-probabilities at sampling time [N, T-1] (owned), kept when numIterations > 1. */
  readonly oldLogprobs?: tf.Tensor2D;
}

export class GRPO implements Algorithm<GrpoExperience> {
  readonly name = 'grpo';
  readonly config: GrpoConfig;
  private readonly updater: ParameterUpdater;

  constructor(
    config: GrpoConfigInput,
    private readonly ctx: AlgorithmContext,
  ) {
    this.config = parseWith(GrpoConfigSchema, config, { what: 'GRPO config' });
    this.updater = new ParameterUpdater(ctx.policy.parameters(), this.config);
  }

  async makeExperience(prompts: TokenBatch): Promise<GrpoExperience> {
    const c = this.config;
    const k = c.numGenerations;
    const clock = new PhaseClock();
    const memory = new TensorBytesWatermark();
    // 1. rollout: k sampled responses per prompt, rows i*k + j
    const seed = this.ctx.rng.nextUint32();
    const rollout = await clock.time('rollout', () =>
      this.ctx.generate(prompts, { samplesPerPrompt: k, greedy: false, seed }),
    );
    const { sampled } = rollout;
    memory.sample();
    let oldLogprobs: tf.Tensor2D | undefined;
    try {
      // a generator that decoded greedy rows anyway: GRPO has no use for them
      if (rollout.greedy) disposeBatch(rollout.greedy);
      rollout.greedy?.logprobs?.dispose();
      const rows = prompts.inputIds.shape[0] * k;
      expectRows(sampled.inputIds.shape[0], rows, 'context.generate', 'sampled rows');
      // 2. rewards
      const scores = await clock.time('reward', () => this.ctx.reward(sampled));
      expectRows(scores.length, rows, 'context.reward', 'rewards');
      // 3. policy and reference log-probabilities (no gradient), k3 per token for the metrics
      const scored = clock.timeSync('score', () =>
        scoreInMicroBatches(this.ctx.policy, this.ctx.reference, sampled, {
          microBatchSize: c.microBatchSize,
          klPenalty: 'sampled',
          klEstimator: 'k3',
          onPeak: () => memory.sample(),
        }),
      );
      const advantages = grpoAdvantages(scores, k, c.scaleRewards);
      // TRL keeps the sampling policy's log-probabilities only when it updates more than once
      if (c.numIterations > 1) oldLogprobs = tf.tensor2d(scored.logprobs);
      const metrics: StepMetrics = {
        ...experienceMetrics({
          reward: scores,
          sampled,
          scores: scored,
          clock,
          memory,
          generatedTokens: sampled.responseLengths.reduce((a, b) => a + b, 0),
        }),
        'reward/group_std_mean': mean(advantages.std),
        'reward/frac_zero_std': advantages.zeroStdFraction,
        'kl/beta': c.beta,
      };
      const batch = {
        inputIds: sampled.inputIds,
        attentionMask: sampled.attentionMask,
        promptLength: sampled.promptLength,
      };
      const old = oldLogprobs;
      return {
        numSequences: rows,
        metrics,
        batch,
        scores,
        ...(c.beta > 0 && { refLogprobs: scored.refLogprobs }),
        ...(old && { oldLogprobs: old }),
        dispose: () => {
          disposeBatch(batch);
          old?.dispose();
        },
      };
    } catch (e) {
      disposeBatch(sampled);
      oldLogprobs?.dispose();
      throw e;
    } finally {
      sampled.logprobs?.dispose();
    }
  }

  async trainStep(experience: GrpoExperience): Promise<StepMetrics> {
    const c = this.config;
    const clock = new PhaseClock();
    const memory = new TensorBytesWatermark();
    const { batch } = experience;
    const [rows, width] = batch.inputIds.shape;
    const inputs: GrpoLossInputs = {
      ...batch,
      scores: experience.scores,
      groupSize: c.numGenerations,
      ...(experience.refLogprobs && { refLogprobs: experience.refLogprobs }),
      ...(experience.oldLogprobs && { oldLogprobs: experience.oldLogprobs }),
    };
    const options: GrpoLossOptions = {
      scaleRewards: c.scaleRewards,
      lossType: c.lossType,
      beta: c.beta,
      epsilonLow: c.epsilonLow,
      epsilonHigh: c.epsilonHigh,
      maxCompletionLength: c.maxCompletionLength,
    };
    let lowClipped = 0;
    let highClipped = 0;
    let responseTokens = 0;
    let update: UpdateResult | undefined;
    for (let iteration = 0; iteration < c.numIterations; iteration++) {
      // 4. loss and gradients per micro-batch: grpoLoss builds each micro-batch's
      //    share of the full-batch loss, so the accumulated gradient is the full one
      clock.timeSync('train', () => {
        for (const range of microBatches(rows, c.microBatchSize)) {
          this.updater.addMicroBatch(() => {
            const { loss, stats } = grpoLoss(this.ctx.policy, this.ctx.reference, inputs, {
              ...options,
              rows: range,
            });
            memory.sample(); // the forward's activations are alive here
            lowClipped += stats.lowClipped;
            highClipped += stats.highClipped;
            responseTokens += range[0] === 0 ? stats.responseTokens : 0;
            return loss;
          });
          memory.sample();
        }
      });
      // 5. clip + AdamW; a non-finite loss or gradient skips the update
      update = clock.timeSync('update', () => this.updater.step());
    }
    const last = update as UpdateResult;
    const tokens = Math.max(responseTokens, 1);
    return {
      step: last.step,
      loss: last.loss,
      ...experience.metrics,
      'policy/clip_low_fraction': lowClipped / tokens,
      'policy/clip_high_fraction': highClipped / tokens,
      'optim/grad_norm': last.gradNorm,
      'optim/lr': last.lr,
      'optim/skipped': last.skipped ? 1 : 0,
      'optim/skipped_total': last.skippedTotal,
      ...trainPhaseMetrics(clock, memory, experience.metrics, c.numIterations * rows * width),
    };
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

function expectRows(got: number, want: number, field: string, what: string): void {
  if (got !== want) {
    throw new RemaxError('E_INPUT', `${field} returned ${got} ${what} for GRPO's groups`, {
      field,
      value: got,
      expected: `${want} (prompts x numGenerations, row i*k + j = sample j of prompt i)`,
    });
  }
}

/** `algorithms.grpo` for the example: swap algorithms with one config field. */
export const grpoAlgorithm: AlgorithmFactory<typeof GrpoConfigSchema, GrpoExperience> = {
  name: 'grpo',
  configSchema: GrpoConfigSchema,
  needsCritic: false,
  create: (config, context) => new GRPO(config, context),
};
