// PPO as DeepSpeed-Chat's step 3 runs it (the ReMax paper's baseline): one step is
//   rollout (sampled) -> reward -> scores (policy, reference, critic; no gradient)
//   -> per-token rewards -> GAE -> ppo epochs of { actor loss, critic loss }
//   -> clip -> AdamW (one optimizer each).
import {
  type Algorithm,
  type AlgorithmContext,
  type AlgorithmFactory,
  type AlgorithmState,
  disposeBatch,
  type Experience,
  experienceFromSampled,
  experienceMetrics,
  fillMasked,
  keptRows,
  mean,
  microBatches,
  nonFiniteRows,
  ParameterUpdater,
  PhaseClock,
  parseWith,
  RemaxError,
  responseTokenMean,
  rolloutTISWeights,
  type SequenceBatch,
  type StepMetrics,
  sampledKL,
  sliceRows,
  TensorBytesWatermark,
  type TokenBatch,
  tf,
  trainPhaseMetrics,
  type ValueModel,
} from '@remax/core';
import { type PpoConfig, type PpoConfigInput, PpoConfigSchema } from './config.js';
import { advantagesAndReturns } from './gae.js';
import { actorLoss, clipFraction, criticLoss } from './losses.js';
import { computeRewards } from './rewards.js';
import { scoreForPpo } from './scoring.js';

/** One batch of sampled responses with the constants PPO's losses need. */
export interface PpoExperience extends Experience {
  readonly batch: SequenceBatch;
  /** Response-column views [B, R] (R = T-1 - start): old log-probs, advantages, returns, old values, mask. */
  readonly oldLogprobs: number[][];
  readonly advantages: number[][];
  readonly returns: number[][];
  readonly oldValues: number[][];
  readonly mask: number[][];
  /** Response tokens in the batch (sum of mask): the losses' denominator. */
  readonly responseTokens: number;
  /** Rows that take part in the losses (a non-finite score or value masks its row). */
  readonly keptRows: number;
  /** Truncated importance-sampling weights [B, R] (with tisCap), constants. */
  readonly tisWeights: number[][] | null;
}

export class Ppo implements Algorithm<PpoExperience> {
  readonly name = 'ppo';
  readonly config: PpoConfig;
  private readonly critic: ValueModel;
  private readonly actorUpdater: ParameterUpdater;
  private readonly criticUpdater: ParameterUpdater;

  constructor(
    config: PpoConfigInput,
    private readonly ctx: AlgorithmContext,
  ) {
    this.config = parseWith(PpoConfigSchema, config, { what: 'PPO config' });
    if (!ctx.critic) {
      throw new RemaxError('E_CONFIG', 'PPO needs a critic (value model) in its context', {
        field: 'context.critic',
        expected:
          'a ValueModel, e.g. loadValueModel(<reward model dir>) from @remax/reward-ultrarm',
      });
    }
    this.critic = ctx.critic;
    this.actorUpdater = new ParameterUpdater(ctx.policy.parameters(), this.config.actor, 'actor');
    this.criticUpdater = new ParameterUpdater(
      ctx.critic.parameters(),
      this.config.critic,
      'critic',
    );
  }

  async makeExperience(prompts: TokenBatch): Promise<PpoExperience> {
    const c = this.config;
    const clock = new PhaseClock();
    const memory = new TensorBytesWatermark();
    // 1. rollout: one sampled response per prompt
    const seed = this.ctx.rng.nextUint32();
    const { sampled } = await clock.time('rollout', () =>
      this.ctx.generate(prompts, { samplesPerPrompt: 1, greedy: false, seed }),
    );
    memory.sample();
    return experienceFromSampled(sampled, async (batch) => {
      // 2. reward-model score per sequence
      const score = await clock.time('reward', () => this.ctx.reward(sampled));
      // 3. old log-probs, reference log-probs, old values (no gradient)
      const s = clock.timeSync('score', () =>
        scoreForPpo(
          this.ctx.policy,
          this.ctx.reference,
          this.critic,
          sampled,
          c.microBatchSize,
          () => memory.sample(),
        ),
      );
      // 4. per-token rewards (KL penalty + clipped score), then GAE. A row whose
      //    score, or whose old value at a response position, is not finite is
      //    masked: neutral numbers for the math, and a zero mask so neither loss
      //    sees it (a critic that is non-finite again in training still makes
      //    the loss non-finite, and the update is skipped)
      const promptLength = sampled.promptLength;
      const start = promptLength - 1;
      const valuesFinite = s.values.map((row, b) =>
        row.every((v, t) => t < start || s.actionMask[b]?.[t] !== 1 || Number.isFinite(v)),
      );
      const masked = nonFiniteRows(score.length, score).map((m, b) => m || !valuesFinite[b]);
      const values = s.values.map((row, b) => (masked[b] ? row.map(() => 0) : row));
      const kept = keptRows(score, masked);
      const rewards = computeRewards(
        {
          logprobs: s.logprobs,
          refLogprobs: s.refLogprobs,
          rewardScore: fillMasked(score, masked, 0),
          actionMask: s.actionMask,
          promptLength,
        },
        { klCtl: c.klCtl, rewardClip: c.rewardClip },
      );
      const gae = advantagesAndReturns(
        { values, rewards, actionMask: s.actionMask, promptLength },
        { gamma: c.gamma, lam: c.lam },
      );
      const mask = s.actionMask.map((r, b) => r.slice(start).map((m) => (masked[b] ? 0 : m)));
      const tis =
        c.tisCap === null ? null : rolloutTISWeights(s.logprobs, sampled, start, c.tisCap);
      const metrics: StepMetrics = {
        ...experienceMetrics({
          reward: kept,
          sampled,
          // the penalty computeRewards applies: the sampled log-ratio (k1)
          scores: { ...s, kl: sampledKL(s.logprobs, s.refLogprobs, 'k1') },
          clock,
          memory,
          generatedTokens: sampled.responseLengths.reduce((a, b) => a + b, 0),
        }),
        'kl/ctl': c.klCtl,
        'reward/nonfinite_rows': score.length - kept.length,
        'returns/advantage_mean': mean(gae.advantages.flat()),
        'critic/value_mean': mean(gae.values.flatMap((r) => r.slice(start))),
        ...(tis && { 'rollout/tis_weight_mean': responseTokenMean(tis, s.actionMask, start) }),
      };
      return {
        numSequences: score.length,
        metrics,
        batch,
        oldLogprobs: s.logprobs.map((r) => r.slice(start)),
        advantages: gae.advantages,
        returns: gae.returns,
        oldValues: gae.values.map((r) => r.slice(start)),
        mask,
        responseTokens: mask.flat().reduce((a, b) => a + b, 0),
        keptRows: kept.length,
        tisWeights: tis ? tis.map((r) => r.slice(start)) : null,
        dispose: () => disposeBatch(batch),
      };
    });
  }

  async trainStep(experience: PpoExperience): Promise<StepMetrics> {
    const c = this.config;
    const clock = new PhaseClock();
    const memory = new TensorBytesWatermark();
    const { batch } = experience;
    const rows = batch.inputIds.shape[0];
    const T = batch.inputIds.shape[1];
    const start = batch.promptLength - 1;
    const R = T - 1 - start;
    const tokens = Math.max(experience.responseTokens, 1);
    const metrics: StepMetrics = {};
    for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
      let clipped = 0;
      clock.timeSync('train', () => {
        for (const [s, e] of microBatches(rows, c.microBatchSize)) {
          const part = sliceRows(batch, s, e);
          const k = (m: number[][]) => tf.tensor2d(m.slice(s, e), [e - s, R]);
          const [old, adv, ret, oldV, mask] = [
            k(experience.oldLogprobs),
            k(experience.advantages),
            k(experience.returns),
            k(experience.oldValues),
            k(experience.mask),
          ];
          const tis = experience.tisWeights ? k(experience.tisWeights) : undefined;
          try {
            // 5. actor: clipped surrogate on the response columns
            this.actorUpdater.addMicroBatch(() => {
              const lp = tf.slice(
                this.ctx.policy.logprobsOf(part, { fromColumn: start }),
                [0, start],
                [e - s, R],
              ) as tf.Tensor2D;
              memory.sample();
              clipped +=
                tf.tidy(() => clipFraction(lp, old, mask, c.cliprange).dataSync()[0] as number) *
                (e - s);
              return actorLoss(lp, old, adv, mask, c.cliprange, tokens, tis);
            });
            // 6. critic: clipped value loss against the GAE returns
            this.criticUpdater.addMicroBatch(() => {
              const v = tf.slice(this.critic.values(part), [0, start], [e - s, R]) as tf.Tensor2D;
              memory.sample();
              return criticLoss(v, oldV, ret, mask, c.cliprangeValue, tokens);
            });
          } finally {
            tf.dispose([old, adv, ret, oldV, mask, ...(tis ? [tis] : [])]);
            disposeBatch(part);
          }
        }
      });
      // 7. clip + AdamW for each; a non-finite loss or gradient skips that update
      const all = experience.keptRows > 0;
      const actor = clock.timeSync('update', () =>
        all ? this.actorUpdater.step() : this.actorUpdater.skip(),
      );
      const critic = clock.timeSync('update', () =>
        all ? this.criticUpdater.step() : this.criticUpdater.skip(),
      );
      Object.assign(metrics, {
        step: actor.step,
        loss: actor.loss,
        'loss/actor': actor.loss,
        'loss/critic': critic.loss,
        'policy/clip_fraction': clipped / rows,
        'optim/grad_norm': actor.gradNorm,
        'optim/critic_grad_norm': critic.gradNorm,
        'optim/lr': actor.lr,
        'optim/critic_lr': critic.lr,
        'optim/skipped': actor.skipped || critic.skipped ? 1 : 0,
        'optim/skipped_total': actor.skippedTotal + critic.skippedTotal,
      });
    }
    return {
      ...metrics,
      ...experience.metrics,
      ...trainPhaseMetrics(clock, memory, experience.metrics, c.ppoEpochs * rows * T),
    };
  }

  getState(): AlgorithmState {
    const a = this.actorUpdater.getState();
    const b = this.criticUpdater.getState();
    return { json: { ...a.json, ...b.json }, tensors: new Map([...a.tensors, ...b.tensors]) };
  }

  setState(state: AlgorithmState): void {
    this.actorUpdater.setState(state);
    this.criticUpdater.setState(state);
  }

  dispose(): void {
    this.actorUpdater.dispose();
    this.criticUpdater.dispose();
  }
}

/** `algorithms.ppo` for the example: swap algorithms with one config field. */
export const ppoAlgorithm: AlgorithmFactory<typeof PpoConfigSchema, PpoExperience> = {
  name: 'ppo',
  configSchema: PpoConfigSchema,
  needsCritic: true,
  create: (config, context) => new Ppo(config, context),
};
