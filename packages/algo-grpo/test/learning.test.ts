// The optimiser and the signs, not just one step's numbers: GRPO steps with real
// sampling (@remax/rollout) from a table policy against a fixed, simple reward
// must raise that reward, for every seed and every loss aggregation, while the
// KL to the reference stays finite.
import { initBackend, Rng, type StepMetrics, tf, tokenFractionReward } from '@remax/core';
import { rolloutGenerator } from '@remax/rollout';
import { beforeAll, expect, it } from 'vitest';
import type { GrpoConfigInput } from '../src/config.js';
import { GRPO } from '../src/grpo.js';
import { TablePolicy } from './tablePolicy.js';

const V = 16;
const EOS = 2;
const MAX_NEW = 6;
const STEPS = 30;
/** Reward: the fraction of response tokens in the top quarter of the vocabulary. */
const target = tokenFractionReward((id) => id >= 12);
const PROMPTS = [
  [1, 5, 6],
  [1, 9, 3],
  [0, 1, 14],
  [1, 4, 4],
];

beforeAll(async () => {
  await initBackend();
});

async function train(seed: number, config: GrpoConfigInput): Promise<StepMetrics[]> {
  const policy = new TablePolicy(V, 100 + seed);
  const reference = new TablePolicy(V, 100 + seed);
  const algo = new GRPO(
    { numGenerations: 4, lr: 0.2, microBatchSize: 8, maxCompletionLength: MAX_NEW, ...config },
    {
      policy,
      reference,
      generate: rolloutGenerator(policy, { maxNewTokens: MAX_NEW, eosTokenId: EOS }),
      reward: target,
      rng: Rng.fromSeed(seed),
    },
  );
  const inputIds = tf.tensor2d(PROMPTS, undefined, 'int32');
  const attentionMask = tf.tensor2d(
    PROMPTS.map((r) => r.map((v, t) => (t === 0 && v === 0 ? 0 : 1))),
    undefined,
    'int32',
  );
  const history: StepMetrics[] = [];
  let tensors = 0;
  try {
    for (let s = 0; s < STEPS; s++) {
      if (s === 1) tensors = tf.memory().numTensors;
      const exp = await algo.makeExperience({ inputIds, attentionMask });
      try {
        history.push(await algo.trainStep(exp));
      } finally {
        exp.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(tensors); // no tensor leaks across steps
  } finally {
    algo.dispose();
    policy.dispose();
    reference.dispose();
    tf.dispose([inputIds, attentionMask]);
  }
  return history;
}

const avg = (rows: StepMetrics[], k: string) =>
  rows.reduce((s, m) => s + (m[k] as number), 0) / rows.length;

for (const lossType of ['grpo', 'dapo', 'dr_grpo'] as const) {
  it(`${lossType}: ${STEPS} steps raise a simple reward for each of 3 seeds; KL stays finite`, async () => {
    for (const seed of [1, 2, 3]) {
      const history = await train(seed, { lossType });
      const gain = avg(history.slice(-5), 'reward/mean') - avg(history.slice(0, 5), 'reward/mean');
      if (process.env['REMAX_VERBOSE']) console.log(lossType, seed, gain);
      expect(gain, `seed ${seed}`).toBeGreaterThan(0.3);
      for (const m of history) {
        expect(m['optim/skipped']).toBe(0);
        expect(Number.isFinite(m['kl/full'])).toBe(true);
      }
      expect(avg(history.slice(-5), 'kl/full')).toBeGreaterThan(
        avg(history.slice(0, 5), 'kl/full'),
      );
    }
  });
}
