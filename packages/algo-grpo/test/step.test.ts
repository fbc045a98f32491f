// The GRPO step on a table policy with a fixed-sequence generator: the request it
// makes, micro-batch invariance, numIterations, the non-finite guard, typed
// errors, state round trip and leaks.
import {
  type GenerateFn,
  initBackend,
  type RewardFn,
  Rng,
  type StepMetrics,
  type TokenBatch,
  tf,
  tokenFractionReward,
} from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrpoConfigInput } from '../src/config.js';
import { GRPO, grpoAlgorithm } from '../src/grpo.js';
import { TablePolicy } from './tablePolicy.js';

const V = 11;
const EOS = 2;
const K = 4;
const PROMPTS = [
  [0, 1, 5],
  [1, 7, 3],
];
const P = PROMPTS[0]?.length as number;
// K responses per prompt (row i*K + j = sample j of prompt i), right-padded with 0 after EOS
const RESPONSES = [
  [8, 8, 2, 0, 0],
  [4, 8, 6, 9, 2],
  [2, 0, 0, 0, 0],
  [8, 8, 8, 8, 8],
  [9, 2, 0, 0, 0],
  [8, 4, 2, 0, 0],
  [8, 8, 8, 2, 0],
  [6, 5, 4, 3, 10],
];
const SAMPLED = RESPONSES.map((r, i) => [...(PROMPTS[Math.floor(i / K)] as number[]), ...r]);
const promptMask = (row: number[]) =>
  row.map((_, t) => (row.slice(0, t + 1).every((v) => v === 0) ? 0 : 1));
const maskOf = (row: number[]) => {
  const eos = row.indexOf(EOS, P);
  return row.map((_, t) =>
    t < P ? (promptMask(row.slice(0, P))[t] as number) : eos >= 0 && t > eos ? 0 : 1,
  );
};

/** Always the same K rows per prompt (enough to test the step's plumbing); checks the request. */
const fixedGenerate: GenerateFn = async (prompts, request) => {
  expect(request).toMatchObject({ samplesPerPrompt: K, greedy: false });
  expect(prompts.inputIds.shape[0] * K).toBe(SAMPLED.length);
  const mask = SAMPLED.map(maskOf);
  return {
    sampled: {
      inputIds: tf.tensor2d(SAMPLED, undefined, 'int32'),
      attentionMask: tf.tensor2d(mask, undefined, 'int32'),
      promptLength: P,
      responseLengths: mask.map((m) => m.slice(P).reduce((a, b) => a + b, 0)),
    },
  };
};
const countEights = tokenFractionReward((id) => id === 8);

let policy: TablePolicy;
let reference: TablePolicy;
beforeAll(async () => {
  await initBackend();
  policy = new TablePolicy(V, 3);
  reference = new TablePolicy(V, 9);
});
afterAll(() => {
  policy.dispose();
  reference.dispose();
});

const prompts = (): TokenBatch => ({
  inputIds: tf.tensor2d(PROMPTS, undefined, 'int32'),
  attentionMask: tf.tensor2d(PROMPTS.map(promptMask), undefined, 'int32'),
});
const snapshot = (p: TablePolicy) =>
  [...p.parameters().values()].map((v) => Float32Array.from(v.dataSync() as Float32Array));
const grpo = (config: GrpoConfigInput, p: TablePolicy = policy, reward: RewardFn = countEights) =>
  new GRPO(
    { numGenerations: K, lr: 1e-2, ...config },
    { policy: p, reference, generate: fixedGenerate, reward, rng: Rng.fromSeed(5) },
  );

/** Fraction of response tokens whose ratio was clipped (either side). */
const clipped = (m: StepMetrics) =>
  (m['policy/clip_low_fraction'] as number) + (m['policy/clip_high_fraction'] as number);

async function step(algo: GRPO) {
  const x = prompts();
  try {
    const exp = await algo.makeExperience(x);
    try {
      return await algo.trainStep(exp);
    } finally {
      exp.dispose();
    }
  } finally {
    tf.dispose([x.inputIds, x.attentionMask]);
  }
}

describe('GRPO step', () => {
  it('updates the policy, reports the metrics, and does not leak across steps', async () => {
    const algo = grpo({ microBatchSize: 3, lossType: 'grpo', beta: 0.1 });
    const before = snapshot(policy);
    let tensors = 0;
    for (let i = 0; i < 3; i++) {
      if (i === 1) tensors = tf.memory().numTensors; // AdamW's moments exist from the first step on
      const m = await step(algo);
      expect(m.step).toBe(i + 1);
      expect(m['optim/skipped']).toBe(0);
      for (const key of [
        'loss',
        'reward/mean',
        'reward/std',
        'reward/group_std_mean',
        'kl/penalty',
        'kl/full',
        'policy/entropy',
        'optim/grad_norm',
        'throughput/rollout_tokens_per_s',
        'memory/peak_tensor_bytes',
      ]) {
        expect(Number.isFinite(m[key]), key).toBe(true);
      }
      const eights = RESPONSES.map((r, b) => {
        const n = (maskOf(SAMPLED[b] as number[]).slice(P) as number[]).reduce((a, c) => a + c, 0);
        return r.slice(0, n).filter((t) => t === 8).length / n;
      });
      expect(m['reward/mean']).toBeCloseTo(eights.reduce((a, b) => a + b, 0) / eights.length, 6);
      expect(m['reward/frac_zero_std']).toBe(0);
      // one update per batch (numIterations 1): the ratio is 1, nothing is clipped
      expect(clipped(m)).toBe(0);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(snapshot(policy).some((v, i) => v.some((x, j) => x !== before[i]?.[j]))).toBe(true);

    // state round trip: a fresh algorithm restored from the state has the same optimizer state
    const state = algo.getState();
    const restored = grpo({ microBatchSize: 3, lossType: 'grpo', beta: 0.1 });
    restored.setState(state);
    tf.dispose([...state.tensors.values()]);
    expect(restored.getState().json).toEqual(algo.getState().json);
    algo.dispose();
    restored.dispose();
  });

  for (const lossType of ['grpo', 'dapo', 'dr_grpo'] as const) {
    it(`${lossType}: the micro-batch size changes neither the loss, the gradient nor the update`, async () => {
      const results = [];
      for (const microBatchSize of [SAMPLED.length, 3, 1]) {
        const p = new TablePolicy(V, 21);
        const algo = grpo({ microBatchSize, lossType, maxCompletionLength: 6 }, p);
        results.push({ m: await step(algo), w: snapshot(p) });
        algo.dispose();
        p.dispose();
      }
      const [full, ...parts] = results;
      for (const r of parts) {
        expect(r.m.loss).toBeCloseTo(full?.m.loss as number, 6);
        expect(
          (r.m['optim/grad_norm'] as number) / (full?.m['optim/grad_norm'] as number),
        ).toBeCloseTo(1, 5);
        r.w.forEach((v, i) => {
          for (const [j, x] of v.entries()) expect(x).toBeCloseTo(full?.w[i]?.[j] as number, 5);
        });
      }
    });
  }

  it('numIterations 2: two updates per batch, the second against the sampling log-probabilities', async () => {
    const p = new TablePolicy(V, 4);
    const algo = grpo({ numIterations: 2, lr: 0.5, microBatchSize: 3 }, p);
    const m = await step(algo);
    expect(m.step).toBe(2);
    // the first update moved the policy by ~lr per logit: the second one's ratios are clipped
    expect(clipped(m)).toBeGreaterThan(0);
    algo.dispose();
    p.dispose();
  });

  it('skips (and counts) an update whose loss is not finite: the weights do not move', async () => {
    const nan: RewardFn = async (b) => new Float32Array(b.inputIds.shape[0]).fill(Number.NaN);
    const algo = grpo({ microBatchSize: 2 }, policy, nan);
    const before = snapshot(policy);
    const m = await step(algo);
    expect(m['optim/skipped']).toBe(1);
    expect(m['optim/skipped_total']).toBe(1);
    expect(m.step).toBe(0);
    expect(snapshot(policy)).toEqual(before);
    algo.dispose();
  });

  it('rejects a reward function that returns the wrong number of rewards, freeing the rollout', async () => {
    const algo = grpo({}, policy, async () => new Float32Array(3));
    const x = prompts();
    const tensors = tf.memory().numTensors;
    await expect(algo.makeExperience(x)).rejects.toThrow(/wrong number of rewards/);
    expect(tf.memory().numTensors).toBe(tensors);
    algo.dispose();
    tf.dispose([x.inputIds, x.attentionMask]);
  });

  it('rejects a bad config with a typed error naming the key', () => {
    const ctx = {
      policy,
      reference,
      generate: fixedGenerate,
      reward: countEights,
      rng: Rng.fromSeed(1),
    };
    expect(() => grpoAlgorithm.create({ numGenerations: 1 }, ctx)).toThrow(/numGenerations/);
    expect(() => grpoAlgorithm.create({ lossType: 'bnpo' as 'dapo' }, ctx)).toThrow(/lossType/);
    expect(() => grpoAlgorithm.create({ scaleRewards: 'std' as 'group' }, ctx)).toThrow(
      /scaleRewards/,
    );
    expect(() => grpoAlgorithm.create({ epsilonLow: 1 }, ctx)).toThrow(/epsilonLow/);
    expect(() => grpoAlgorithm.create({ beta: 0.04, extra: 1 } as never, ctx)).toThrow(
      /extra|unrecognized/i,
    );
    const algo = grpoAlgorithm.create({}, ctx);
    expect(grpoAlgorithm.needsCritic).toBe(false);
    expect(algo.name).toBe('grpo');
    algo.dispose();
  });
});
