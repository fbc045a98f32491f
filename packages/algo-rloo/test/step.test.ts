// The RLOO step on a bigram policy with a fixed k-sample generator: the
// micro-batch split of rlooLoss, the step's update and metrics, leaks, state.
import { type RewardFn, Rng, tf } from '@remax/core';
import { describe, expect, it } from 'vitest';
import {
  countEights,
  fixedBatch,
  fixedGenerate,
  fixedPrompts,
  K,
  offPolicyBatch,
} from '../../../test-support/groupRollout.js';
import {
  expectMicroBatchesAddUp,
  expectStateRoundTrip,
  expectStepsWithoutLeaks,
} from '../../../test-support/lossHarness.js';
import { toyModels } from '../../../test-support/toyPolicy.js';
import { rlooLoss } from '../src/loss.js';
import { Rloo, rlooAlgorithm } from '../src/rloo.js';

const models = toyModels(3, 9);
const context = (reward: RewardFn = countEights, requests: unknown[] = []) => ({
  ...models,
  generate: fixedGenerate(requests),
  reward,
  rng: Rng.fromSeed(5),
});

describe('RLOO step', () => {
  for (const form of ['classic', 'trl'] as const) {
    it(`${form}: micro-batch losses and gradients add up to the full batch's`, async () => {
      // off-policy old log-probabilities, so the trl form's clip is active on some rows
      const inputs = await offPolicyBatch(models.policy, models.reference, 0.4, 7);
      const options = { form, beta: 0.1, normalizeAdvantages: form === 'trl' };
      expectMicroBatchesAddUp(rlooLoss, models, inputs, options, [
        [0, 3],
        [3, 4],
        [4, 8],
      ]);
    });
  }

  it('samples k per prompt, updates the policy, reports the metrics, does not leak', async () => {
    const requests: unknown[] = [];
    const algo = rlooAlgorithm.create(
      { samplesPerPrompt: K, form: 'trl', lr: 1e-2, microBatchSize: 3 },
      context(countEights, requests),
    );
    const x = fixedPrompts();
    await expectStepsWithoutLeaks(algo, models.policy, x, 3, (m) => {
      for (const key of ['loss', 'reward/rlhf_mean', 'advantages/std', 'kl/penalty', 'kl/full']) {
        expect(Number.isFinite(m[key]), key).toBe(true);
      }
      expect(m['reward/mean']).toBeCloseTo((2 + 1 + 5 + 1) / 5 / 8, 6); // the rows' 8s
    });
    expect(requests).toEqual(
      Array(3).fill({ samplesPerPrompt: K, greedy: false, seed: expect.any(Number) }),
    );
    expectStateRoundTrip(algo, new Rloo({ samplesPerPrompt: K }, context()));
    algo.dispose();
    tf.dispose([x.inputIds, x.attentionMask]);
  });

  it('rejects a reward function with the wrong count without leaking the rollout', async () => {
    const algo = new Rloo(
      { samplesPerPrompt: K },
      context(async () => new Float32Array(3)),
    );
    const x = fixedPrompts();
    const tensors = tf.memory().numTensors;
    await expect(algo.makeExperience(x)).rejects.toThrow(/wrong number of rewards/);
    expect(tf.memory().numTensors).toBe(tensors);
    algo.dispose();
    tf.dispose([x.inputIds, x.attentionMask]);
  });

  it('rejects a bad config with a typed error naming the key', () => {
    expect(() => new Rloo({ samplesPerPrompt: 1 }, context())).toThrow(/samplesPerPrompt/);
    expect(() => new Rloo({ form: 'ppo' as 'trl' }, context())).toThrow(/form/);
    expect(() => new Rloo({ extra: 1 } as never, context())).toThrow(/extra|unrecognized/i);
  });

  it('rlooLoss rejects groups that do not divide the rows, and a row range without old log-probabilities', async () => {
    const { policy, reference } = models;
    const batch = fixedBatch();
    const scores = await countEights(batch);
    expect(() => rlooLoss(policy, reference, { ...batch, scores, groupSize: 3 }, {})).toThrow(
      /groupSize/,
    );
    expect(() =>
      rlooLoss(policy, reference, { ...batch, scores, groupSize: K, rows: [0, 2] }, {}),
    ).toThrow(/oldLogprobs/);
    expect(() =>
      rlooLoss(policy, reference, { ...batch, scores: scores.slice(1), groupSize: K }, {}),
    ).toThrow(/scores/);
    tf.dispose([batch.inputIds, batch.attentionMask]);
  });
});
