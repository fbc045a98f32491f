// rlooLoss against fixtures/algo/rloo.json: one on-policy RLOO step of
// tiny-mistral-swa against its reference-policy (float64 PyTorch reference of
// TRL's RLOOTrainer at f2cd577 and of Ahmadian et al.'s classic form).
import { initBackend, tf } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectGolden } from '../../../test-support/goldenGradients.js';
import { fixtureScoredBatch, lossGradsStats } from '../../../test-support/lossHarness.js';
import { rlooLoss, rlooSequenceLosses } from '../src/loss.js';
import { loadModels, rlooFixture } from './fixture.js';

const f = rlooFixture();
let policy: CausalLM;
let reference: CausalLM;

beforeAll(async () => {
  await initBackend();
  ({ policy, reference } = await loadModels());
});
afterAll(() => {
  policy?.dispose();
  reference?.dispose();
});

const closeAll = (got: readonly number[], want: readonly number[], rel: number, what = 'value') =>
  expectClose(got, want, rel, expect, what);

describe('rlooLoss reproduces rloo.json', () => {
  for (const v of f.variants) {
    const name = `form ${v.form}${v.normalize_advantages ? ', normalized advantages' : ''}`;
    it(`${name}: KL sums, baselines, advantages, loss, every gradient`, () => {
      const x = fixtureScoredBatch(f);
      const options = {
        form: v.form,
        beta: v.beta,
        ...(v.normalize_advantages !== undefined && {
          normalizeAdvantages: v.normalize_advantages,
        }),
        ...(v.epsilon_low !== undefined && { epsilonLow: v.epsilon_low }),
        ...(v.epsilon_high !== undefined && { epsilonHigh: v.epsilon_high }),
      };
      const {
        loss,
        grads,
        stats: s,
      } = lossGradsStats(() => rlooLoss(policy, reference, x, options), policy.parameters());
      try {
        closeAll(s.klSum, v.kl_sum, 1e-5, 'klSum');
        closeAll(s.rlhfReward, v.rlhf_reward, 1e-5, 'rlhfReward');
        closeAll(s.baseline, v.baseline, 1e-5, 'baseline');
        closeAll(s.advantages, v.advantages, 1e-5, 'advantages');
        expectGolden({ loss, grads }, v, expect);
      } finally {
        tf.dispose([...grads.values(), x.inputIds, x.attentionMask]);
      }
    });
  }

  it('trl_clip_math: the clipped sequence-ratio loss and its gradient on given tensors', () => {
    const c = f.trl_clip_math;
    const lp = tf.tensor2d(c.logprobs, undefined, 'float32');
    const grad = tf.grad((logprobs: tf.Tensor) =>
      tf.mean(
        rlooSequenceLosses(
          logprobs as tf.Tensor2D,
          tf.tensor2d(c.old_logprobs),
          tf.tensor2d(c.mask),
          tf.tensor1d(c.advantages),
          { form: 'trl', epsilonLow: c.epsilon_low, epsilonHigh: c.epsilon_high },
        ),
      ),
    );
    const loss = tf.tidy(
      () =>
        tf
          .mean(
            rlooSequenceLosses(
              lp,
              tf.tensor2d(c.old_logprobs),
              tf.tensor2d(c.mask),
              tf.tensor1d(c.advantages),
              { form: 'trl', epsilonLow: c.epsilon_low, epsilonHigh: c.epsilon_high },
            ),
          )
          .dataSync()[0],
    ) as number;
    closeAll([loss], [c.loss], 1e-5, 'loss');
    const g = grad(lp);
    const got = g.arraySync() as number[][];
    closeAll(got.flat(), c.dloss_dlogprobs.flat(), 1e-5, 'dloss_dlogprobs');
    tf.dispose([lp, g]);
  });
});
