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
  snapshot,
} from '../../../test-support/groupRollout.js';
import { expectMicroBatchesAddUp } from '../../../test-support/lossHarness.js';
import { toyModels } from '../../../test-support/toyPolicy.js';
import { rlooLoss } from '../src/loss.js';
import { Rloo, rlooAlgorithm } from '../src/rloo.js';

const models = toyModels(3, 9);

const context = (reward: RewardFn = countEights, requests: unknown[] = []) => ({
  policy: models.policy,
  reference: models.reference,
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
      expectMicroBatchesAddUp(
        (rows) =>
          rlooLoss(models.policy, models.reference, { ...inputs, ...(rows && { rows }) }, options)
            .loss,
        models.policy.parameters(),
        [
          [0, 3],
          [3, 4],
          [4, 8],
        ],
      );
      tf.dispose([inputs.inputIds, inputs.attentionMask]);
    });
  }

  it('samples k per prompt, updates the models.policy, reports the metrics, does not leak', async () => {
    const requests: unknown[] = [];
    const algo = rlooAlgorithm.create(
      { samplesPerPrompt: K, form: 'trl', lr: 1e-2, microBatchSize: 3 },
      context(countEights, requests),
    );
    const x = fixedPrompts();
    const before = snapshot(models.policy.parameters());
    let tensors = 0;
    for (let i = 0; i < 3; i++) {
      if (i === 1) tensors = tf.memory().numTensors;
      const exp = await algo.makeExperience(x);
      const m = await algo.trainStep(exp);
      exp.dispose();
      expect(m['optim/skipped']).toBe(0);
      expect(m.step).toBe(i + 1);
      for (const key of [
        'loss',
        'reward/mean',
        'reward/rlhf_mean',
        'advantages/std',
        'kl/penalty',
        'kl/full',
        'policy/entropy',
        'optim/grad_norm',
        'memory/peak_tensor_bytes',
      ]) {
        expect(Number.isFinite(m[key]), key).toBe(true);
      }
      expect(m['reward/mean']).toBeCloseTo((2 + 1 + 5 + 1) / 5 / 8, 6); // the rows' 8s
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(requests).toEqual(
      Array(3).fill({ samplesPerPrompt: K, greedy: false, seed: expect.any(Number) }),
    );
    expect(
      snapshot(models.policy.parameters()).some((v, i) => v.some((y, j) => y !== before[i]?.[j])),
    ).toBe(true);

    // a fresh algorithm restored from the state has the same optimizer state
    const state = algo.getState();
    const restored = new Rloo({ samplesPerPrompt: K }, context());
    restored.setState(state);
    tf.dispose([...state.tensors.values()]);
    expect(restored.getState().json).toEqual(algo.getState().json);
    algo.dispose();
    restored.dispose();
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
    const batch = fixedBatch();
    const scores = await countEights(batch);
    expect(() =>
      rlooLoss(models.policy, models.reference, { ...batch, scores, groupSize: 3 }, {}),
    ).toThrow(/groupSize/);
    expect(() =>
      rlooLoss(
        models.policy,
        models.reference,
        { ...batch, scores, groupSize: K, rows: [0, 2] },
        {},
      ),
    ).toThrow(/oldLogprobs/);
    expect(() =>
      rlooLoss(
        models.policy,
        models.reference,
        { ...batch, scores: scores.slice(1), groupSize: K },
        {},
      ),
    ).toThrow(/scores/);
    tf.dispose([batch.inputIds, batch.attentionMask]);
  });
});
