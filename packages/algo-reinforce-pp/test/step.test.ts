// The REINFORCE++ step on a bigram policy with a fixed k-sample generator: the
// micro-batch split of reinforcePPLoss, the step's update and metrics, leaks, state.
import { Rng, tf } from '@remax/core';
import { describe, expect, it } from 'vitest';
import {
  countEights,
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
import { reinforcePPLoss } from '../src/loss.js';
import { ReinforcePP, reinforcePPAlgorithm } from '../src/reinforcePP.js';

const models = toyModels(4, 8);
const context = (requests: unknown[] = []) => ({
  ...models,
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
    expectMicroBatchesAddUp(reinforcePPLoss, models, inputs, options, [
      [0, 5],
      [5, 6],
      [6, 8],
    ]);
  });

  it('samples k per prompt, moves the weights, reports its metrics, no tensor leaks', async () => {
    const requests: { samplesPerPrompt: number }[] = [];
    const algo = reinforcePPAlgorithm.create(
      { samplesPerPrompt: K, estimator: 'reinforce_baseline', lr: 1e-2, microBatchSize: 5 },
      context(requests),
    );
    const prompts = fixedPrompts();
    await expectStepsWithoutLeaks(algo, models.policy, prompts, 3, (metrics) => {
      for (const key of ['returns/mean', 'returns/std', 'reward/clip_fraction']) {
        expect(Number.isFinite(metrics[key]), key).toBe(true);
      }
      // whitened advantages: the loss at ratio 1 is a token mean of zero-mean numbers
      expect(Math.abs(metrics.loss as number)).toBeLessThan(1e-5);
    });
    expect(requests.map((r) => r.samplesPerPrompt)).toEqual([K, K, K]);
    expectStateRoundTrip(algo, new ReinforcePP({ samplesPerPrompt: K }, context()));
    algo.dispose();
    tf.dispose([prompts.inputIds, prompts.attentionMask]);
  });

  it('rejects what OpenRLHF would silently change or cannot do', () => {
    const baseline = { samplesPerPrompt: K, estimator: 'reinforce_baseline' } as const;
    expect(() => new ReinforcePP({ ...baseline, gamma: 0.99 }, context())).toThrow(/gamma/);
    expect(() => new ReinforcePP({ ...baseline, samplesPerPrompt: 1 }, context())).toThrow(
      /samplesPerPrompt/,
    );
    expect(() => new ReinforcePP({ rewardClipRange: [1, -1] }, context())).toThrow(
      /rewardClipRange/,
    );
    expect(() => new ReinforcePP({ klEstimator: 'k4' as 'k1' }, context())).toThrow(/klEstimator/);
  });
});
