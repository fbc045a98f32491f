// reinforcePPLoss against fixtures/algo/reinforce-pp.json: one on-policy
// REINFORCE++ step of tiny-mistral-swa against its reference-policy (float64
// PyTorch reference of OpenRLHF at 3c3be62).
import { initBackend, tf } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectGolden } from '../../../test-support/goldenGradients.js';
import { fixtureScoredBatch, lossGradsStats } from '../../../test-support/lossHarness.js';
import { reinforcePPAdvantages } from '../src/advantages.js';
import { reinforcePPLoss, reinforcePPTokenLosses } from '../src/loss.js';
import { loadModel, reinforcePPFixture } from './fixture.js';

const f = reinforcePPFixture();
let policy: CausalLM;
let reference: CausalLM;

beforeAll(async () => {
  await initBackend();
  policy = await loadModel('tiny-mistral-swa');
  reference = await loadModel('tiny-mistral-swa/reference-policy');
});
afterAll(() => {
  policy?.dispose();
  reference?.dispose();
});

const closeAll = (got: readonly number[], want: readonly number[], rel: number, what: string) =>
  expectClose(got, want, rel, expect, what);

const optionsOf = (v: (typeof f.variants)[number]) => ({
  estimator: v.estimator,
  beta: v.beta,
  klEstimator: v.kl_estimator,
  gamma: v.gamma,
  rewardClipRange: v.reward_clip_range,
  epsilonLow: v.epsilon_low,
  epsilonHigh: v.epsilon_high,
});

describe('reinforcePPLoss reproduces reinforce-pp.json', () => {
  for (const v of f.variants) {
    it(`${v.estimator}, gamma ${v.gamma}: rewards, returns, whitening, advantages, loss, every gradient`, () => {
      const x = fixtureScoredBatch(f);
      const {
        loss,
        grads,
        stats: s,
      } = lossGradsStats(
        () => reinforcePPLoss(policy, reference, x, optionsOf(v)),
        policy.parameters(),
      );
      try {
        closeAll(s.shapedScores, v.shaped_scores, 1e-6, 'shaped_scores');
        closeAll(s.tokenRewards.flat(), v.token_rewards.flat(), 1e-5, 'token_rewards');
        closeAll(s.returns.flat(), v.returns.flat(), 1e-5, 'returns');
        closeAll([s.whitenMean, s.whitenRstd], [v.whiten_mean, v.whiten_rstd], 1e-5, 'whiten');
        closeAll(s.advantages.flat(), v.advantages.flat(), 1e-5, 'advantages');
        expectGolden({ loss, grads }, v, expect);
      } finally {
        tf.dispose([...grads.values(), x.inputIds, x.attentionMask]);
      }
    });
  }

  it('the advantages from the stored float64 log-probabilities (no model)', () => {
    for (const v of f.variants) {
      const a = reinforcePPAdvantages(
        {
          scores: f.scores,
          logprobs: f.logprobs,
          refLogprobs: f.ref_logprobs,
          mask: f.action_mask,
          groupSize: f.num_generations,
        },
        { ...optionsOf(v) },
      );
      closeAll(a.tokenRewards.flat(), v.token_rewards.flat(), 1e-8, 'token_rewards');
      closeAll(a.returns.flat(), v.returns.flat(), 1e-8, 'returns');
      closeAll(a.advantages.flat(), v.advantages.flat(), 1e-8, 'advantages');
    }
  });

  it('clip_math: the clipped token-mean loss and its gradient on given tensors', () => {
    const c = f.clip_math;
    const tokens = c.mask.flat().reduce((a, b) => a + b, 0);
    const lossOf = (logprobs: tf.Tensor) =>
      tf.div(
        tf.sum(
          reinforcePPTokenLosses(
            logprobs as tf.Tensor2D,
            tf.tensor2d(c.old_logprobs),
            tf.tensor2d(c.advantages),
            tf.tensor2d(c.mask),
            { epsilonLow: c.epsilon_low, epsilonHigh: c.epsilon_high },
          ),
        ),
        tokens,
      ) as tf.Scalar;
    const lp = tf.tensor2d(c.logprobs);
    const loss = tf.tidy(() => lossOf(lp).dataSync()[0] as number);
    closeAll([loss], [c.loss], 1e-5, 'loss');
    const g = tf.grad(lossOf)(lp);
    closeAll(
      (g.arraySync() as number[][]).flat(),
      c.dloss_dlogprobs.flat(),
      1e-5,
      'dloss_dlogprobs',
    );
    tf.dispose([lp, g]);
  });
});
