// The REINFORCE++ step on a bigram policy with a fixed k-sample generator: the
// micro-batch split of reinforcePPLoss, the step's update and metrics, leaks, state.
import { Rng, tf } from '@remax/core';
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
import { reinforcePPLoss } from '../src/loss.js';
import { ReinforcePP, reinforcePPAlgorithm } from '../src/reinforcePP.js';

const models = toyModels(4, 8);

const context = (requests: unknown[] = []) => ({
  policy: models.policy,
  reference: models.reference,
  generate: fixedGenerate(requests),
  reward: countEights,
  rng: Rng.fromSeed(2),
});

describe('REINFORCE++ step', () => {
  it('micro-batch losses and gradients (clipped, off-policy) add up to the full batch', async () => {
    // far enough from the current policy that some token ratios leave [0.8, 1.2]
    const inputs = await offPolicyBatch(models.policy, models.reference, 0.3, 11);
    const options = {
      estimator: 'reinforce_baseline' as const,
      beta: 0.05,
      klEstimator: 'k3' as const,
      rewardClipRange: [-0.3, 0.3] as [number, number],
    };
    expectMicroBatchesAddUp(
      (rows) =>
        reinforcePPLoss(
          models.policy,
          models.reference,
          { ...inputs, ...(rows && { rows }) },
          options,
        ).loss,
      models.policy.parameters(),
      [
        [0, 5],
        [5, 6],
        [6, 8],
      ],
    );
    tf.dispose([inputs.inputIds, inputs.attentionMask]);
  });

  it('samples k per prompt, moves the weights, reports its metrics, no tensor leaks', async () => {
    const requests: unknown[] = [];
    const algo = reinforcePPAlgorithm.create(
      { samplesPerPrompt: K, estimator: 'reinforce_baseline', lr: 1e-2, microBatchSize: 5 },
      context(requests),
    );
    const prompts = fixedPrompts();
    const start = snapshot(models.policy.parameters());
    let live = 0;
    for (let step = 1; step <= 3; step++) {
      const experience = await algo.makeExperience(prompts);
      const metrics = await algo.trainStep(experience);
      experience.dispose();
      if (step === 1) live = tf.memory().numTensors;
      expect(metrics.step).toBe(step);
      expect(metrics['optim/skipped']).toBe(0);
      for (const key of ['loss', 'returns/mean', 'returns/std', 'reward/clip_fraction']) {
        expect(Number.isFinite(metrics[key]), key).toBe(true);
      }
      // whitened advantages: the loss at ratio 1 is a token mean of zero-mean numbers
      expect(Math.abs(metrics.loss as number)).toBeLessThan(1e-5);
    }
    expect(tf.memory().numTensors).toBe(live);
    expect(requests.map((r) => (r as { samplesPerPrompt: number }).samplesPerPrompt)).toEqual([
      K,
      K,
      K,
    ]);
    const moved = snapshot(models.policy.parameters()).some((v, i) =>
      v.some((y, j) => y !== start[i]?.[j]),
    );
    expect(moved).toBe(true);

    const copy = new ReinforcePP({ samplesPerPrompt: K }, context());
    const state = algo.getState();
    copy.setState(state);
    tf.dispose([...state.tensors.values()]);
    expect(copy.getState().json).toEqual(algo.getState().json);
    copy.dispose();
    algo.dispose();
    tf.dispose([prompts.inputIds, prompts.attentionMask]);
  });

  it('rejects what OpenRLHF would silently change or cannot do', () => {
    expect(
      () =>
        new ReinforcePP(
          { samplesPerPrompt: K, estimator: 'reinforce_baseline', gamma: 0.99 },
          context(),
        ),
    ).toThrow(/gamma/);
    expect(() => new ReinforcePP({ estimator: 'reinforce_baseline' }, context())).toThrow(
      /samplesPerPrompt/,
    );
    expect(() => new ReinforcePP({ rewardClipRange: [1, -1] }, context())).toThrow(
      /rewardClipRange/,
    );
    expect(() => new ReinforcePP({ klEstimator: 'k4' as 'k1' }, context())).toThrow(/klEstimator/);
  });
});
