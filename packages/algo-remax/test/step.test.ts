// The ReMax step on a bigram policy with a fixed-sequence generator: gradient
// accumulation, the non-finite guard, state round trip, leaks.
import {
  disposeBatch,
  type GenerateFn,
  initBackend,
  policyGradientLoss,
  type RewardFn,
  Rng,
  tf,
} from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigramPolicy } from '../../../test-support/toyPolicy.js';
import { ReMax } from '../src/remax.js';

const SAMPLED = [
  [0, 1, 4, 5, 6, 7, 2, 0],
  [1, 3, 3, 9, 10, 2, 0, 0],
  [0, 1, 2, 3, 4, 5, 6, 7],
  [1, 8, 8, 8, 8, 8, 8, 8],
];
const GREEDY = [
  [0, 1, 4, 5, 5, 5, 5, 5],
  [1, 3, 3, 3, 3, 3, 3, 3],
  [0, 1, 2, 2, 2, 2, 2, 2],
  [1, 8, 1, 1, 1, 1, 1, 1],
];
const P = 3;
const maskOf = (rows: number[][]) =>
  rows.map((row) => {
    const firstReal = row[0] === 0 ? 1 : 0;
    const eos = row.indexOf(2, P);
    return row.map((_, t) => (t < firstReal ? 0 : eos >= 0 && t > eos ? 0 : 1));
  });
const lengthsOf = (mask: number[][]) => mask.map((row) => row.slice(P).reduce((a, b) => a + b, 0));

/** A generator that always returns the same sampled and greedy rows (enough to test the step's plumbing). */
const fixedGenerate: GenerateFn = async (_prompts, request) => {
  expect(request).toMatchObject({ samplesPerPrompt: 1, greedy: true });
  const rows = (ids: number[][]) => ({
    inputIds: tf.tensor2d(ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(maskOf(ids), undefined, 'int32'),
    promptLength: P,
    responseLengths: lengthsOf(maskOf(ids)),
  });
  return { sampled: rows(SAMPLED), greedy: rows(GREEDY) };
};
/** Reward: how many 8s the response has, so rows differ. */
const countEights: RewardFn = async (batch) =>
  Float32Array.from(
    (await batch.inputIds.array()) as number[][],
    (row) => row.slice(P).filter((t) => t === 8).length / 5,
  );

/** ReMax with the sampled k3 penalty and the adaptive KL controller, on the fixed rollout. */
function adaptiveK3ReMax(): ReMax {
  return new ReMax(
    {
      klPenalty: 'sampled',
      klEstimator: 'k3',
      lr: 1e-2,
      microBatchSize: 3,
      klTarget: 0.5,
      klHorizon: 100,
    },
    { policy, reference, generate: fixedGenerate, reward: countEights, rng: Rng.fromSeed(5) },
  );
}

let policy: BigramPolicy;
let reference: BigramPolicy;
beforeAll(async () => {
  await initBackend();
  policy = new BigramPolicy(11, 6, 3);
  reference = new BigramPolicy(11, 6, 9);
});
afterAll(() => {
  policy.dispose();
  reference.dispose();
});

const prompts = () => ({
  inputIds: tf.tensor2d(
    SAMPLED.map((r) => r.slice(0, P)),
    undefined,
    'int32',
  ),
  attentionMask: tf.tensor2d(
    maskOf(SAMPLED).map((r) => r.slice(0, P)),
    undefined,
    'int32',
  ),
});
const snapshot = () =>
  [...policy.parameters().values()].map((v) => Float32Array.from(v.dataSync() as Float32Array));

describe('ReMax step', () => {
  it('micro-batch gradients normalised by the whole batch add up to the full-batch gradient', () => {
    const batch = {
      inputIds: tf.tensor2d(SAMPLED, undefined, 'int32'),
      attentionMask: tf.tensor2d(maskOf(SAMPLED), undefined, 'int32'),
      promptLength: P,
    };
    const returns = SAMPLED.map((row, b) =>
      row.slice(1).map((_, t) => (t >= P - 1 ? 0.3 * (b + 1) - 0.1 * t : 0)),
    );
    const vars = [...policy.parameters().values()];
    const full = tf.variableGrads(() => policyGradientLoss(policy, batch, returns, 17), vars);
    const sums: Record<string, tf.Tensor> = {};
    for (const [s, e] of [
      [0, 1],
      [1, 3],
      [3, 4],
    ] as const) {
      const part = {
        inputIds: tf.slice(batch.inputIds, [s, 0], [e - s, 8]),
        attentionMask: tf.slice(batch.attentionMask, [s, 0], [e - s, 8]),
        promptLength: P,
      };
      const g = tf.variableGrads(
        () => policyGradientLoss(policy, part, returns.slice(s, e), 17),
        vars,
      );
      for (const [k, t] of Object.entries(g.grads)) {
        const prev = sums[k];
        sums[k] = prev ? tf.add(prev, t) : t.clone();
        tf.dispose([prev as tf.Tensor, t]);
      }
      tf.dispose([g.value]);
      disposeBatch(part);
    }
    for (const [k, g] of Object.entries(full.grads)) {
      const a = g.dataSync();
      const b = sums[k]?.dataSync() as Float32Array;
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i] as number, 5);
    }
    tf.dispose([full.value, ...Object.values(full.grads), ...Object.values(sums)]);
    disposeBatch(batch);
  });

  it('updates the policy, reports the metrics, and does not leak across steps', async () => {
    const algo = adaptiveK3ReMax();
    const x = prompts();
    const before = snapshot();
    let tensors = 0;
    for (let i = 0; i < 3; i++) {
      if (i === 1) tensors = tf.memory().numTensors;
      const exp = await algo.makeExperience(x);
      const m = await algo.trainStep(exp);
      exp.dispose();
      expect(m['optim/skipped']).toBe(0);
      expect(m.step).toBe(i + 1);
      for (const key of [
        'reward/mean',
        'reward/std',
        'reward/greedy_mean',
        'kl/penalty',
        'kl/full',
        'kl/ctl',
        'policy/entropy',
        'optim/grad_norm',
        'optim/lr',
        'response/length_mean',
        'throughput/rollout_tokens_per_s',
        'memory/peak_tensor_bytes',
      ]) {
        expect(Number.isFinite(m[key]), key).toBe(true);
      }
      expect(m['reward/mean']).toBeCloseTo((0 + 0 + 0 + 5 / 5) / 4, 6);
      expect(m['reward/greedy_mean']).toBeCloseTo(0, 6);
      expect(m['response/length_mean']).toBeCloseTo((4 + 3 + 5 + 5) / 4, 12);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(snapshot().some((v, i) => v.some((x, j) => x !== before[i]?.[j]))).toBe(true);

    // state round trip: a fresh algorithm restored from the state takes the same next step
    const state = algo.getState();
    const restored = adaptiveK3ReMax();
    restored.setState(state);
    tf.dispose([...state.tensors.values()]);
    expect(restored.getState().json).toEqual(algo.getState().json);
    algo.dispose();
    restored.dispose();
    tf.dispose([x.inputIds, x.attentionMask]);
  });

  it('skips (and counts) an update whose loss is not finite: the weights do not move', async () => {
    const nanReward: RewardFn = async (batch) =>
      new Float32Array(batch.inputIds.shape[0]).fill(Number.NaN);
    const algo = new ReMax(
      { lr: 1e-2, microBatchSize: 2 },
      { policy, reference, generate: fixedGenerate, reward: nanReward, rng: Rng.fromSeed(5) },
    );
    const x = prompts();
    const before = snapshot();
    const exp = await algo.makeExperience(x);
    const m = await algo.trainStep(exp);
    exp.dispose();
    expect(m['optim/skipped']).toBe(1);
    expect(m['optim/skipped_total']).toBe(1);
    expect(m.step).toBe(0);
    expect(snapshot()).toEqual(before);
    algo.dispose();
    tf.dispose([x.inputIds, x.attentionMask]);
  });

  it('masks a row whose reward is not finite and trains on the rest (metric reward/nonfinite_rows)', async () => {
    // row 1's sampled reward is NaN, row 3's greedy reward is +Inf
    const holes: RewardFn = async (batch) => {
      const r = await countEights(batch);
      // the sampled call is told apart by its first row (SAMPLED[0][5] = 7, GREEDY[0][5] = 5)
      const sampledCall = (await batch.inputIds.array())[0]?.[5] === 7;
      if (sampledCall) r[1] = Number.NaN;
      else r[3] = Number.POSITIVE_INFINITY;
      return r;
    };
    const algo = new ReMax(
      { lr: 1e-2, microBatchSize: 2 },
      { policy, reference, generate: fixedGenerate, reward: holes, rng: Rng.fromSeed(5) },
    );
    const x = prompts();
    const before = snapshot();
    const exp = await algo.makeExperience(x);
    expect(exp.returns[1]?.every((v) => v === 0)).toBe(true);
    expect(exp.returns[3]?.every((v) => v === 0)).toBe(true);
    expect(exp.returns.flat().every(Number.isFinite)).toBe(true);
    const m = await algo.trainStep(exp);
    exp.dispose();
    expect(m['reward/nonfinite_rows']).toBe(2);
    // mean over the kept rows 0 and 2 (no 8s in either sampled response)
    expect(m['reward/mean']).toBe(0);
    expect(m['optim/skipped']).toBe(0);
    const after = snapshot();
    expect(after.every((v) => v.every(Number.isFinite))).toBe(true);
    expect(after.some((v, i) => v.some((x, j) => x !== before[i]?.[j]))).toBe(true);
    algo.dispose();
    tf.dispose([x.inputIds, x.attentionMask]);
  });

  it('tisCap weights each token of the returns by min(exp(lp_train - lp_engine), cap), as constants', async () => {
    const ENGINE_LP = -1.5;
    const withLogprobs: GenerateFn = async (p, r) => {
      const out = await fixedGenerate(p, r);
      const R = (SAMPLED[0] as number[]).length - P;
      return {
        ...out,
        sampled: {
          ...out.sampled,
          logprobs: tf.fill([SAMPLED.length, R], ENGINE_LP) as tf.Tensor2D,
        },
      };
    };
    const make = (tisCap: number | null) =>
      new ReMax(
        { lr: 1e-2, microBatchSize: 2, tisCap },
        { policy, reference, generate: withLogprobs, reward: countEights, rng: Rng.fromSeed(5) },
      );
    const x = prompts();
    const plainAlgo = make(null);
    const tisAlgo = make(1.2);
    const plain = await plainAlgo.makeExperience(x);
    const tis = await tisAlgo.makeExperience(x);
    try {
      const lp = tf.tidy(() => policy.logprobsOf(plain.batch).arraySync() as number[][]);
      const mask = maskOf(SAMPLED);
      tis.returns.forEach((row, b) => {
        row.forEach((r, t) => {
          const response = t >= P - 1 && mask[b]?.[t + 1] === 1;
          const w = response ? Math.min(Math.exp((lp[b]?.[t] as number) - ENGINE_LP), 1.2) : 1;
          expect(r).toBeCloseTo((plain.returns[b]?.[t] as number) * w, 6);
        });
      });
      expect(tis.metrics['rollout/tis_weight_mean']).toBeGreaterThan(0);
      expect(tis.metrics['rollout/tis_weight_mean']).toBeLessThanOrEqual(1.2);
      expect(plain.metrics['rollout/tis_weight_mean']).toBeUndefined();
      expect(tis.metrics['rollout/logprob_abs_diff_max']).toBeGreaterThanOrEqual(
        tis.metrics['rollout/logprob_abs_diff_mean'] as number,
      );
    } finally {
      plain.dispose();
      tis.dispose();
      plainAlgo.dispose();
      tisAlgo.dispose();
      tf.dispose([x.inputIds, x.attentionMask]);
    }
  });

  it('rejects a reward function that returns the wrong number of rewards', async () => {
    const short: RewardFn = async () => new Float32Array(1);
    const algo = new ReMax(
      {},
      { policy, reference, generate: fixedGenerate, reward: short, rng: Rng.fromSeed(5) },
    );
    const x = prompts();
    const tensors = tf.memory().numTensors;
    await expect(algo.makeExperience(x)).rejects.toThrow(/wrong number of sampled rewards/);
    expect(tf.memory().numTensors).toBe(tensors); // the rollout's tensors were freed
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
    expect(() => new ReMax({ klPenalty: 'summed' as 'sampled' }, ctx)).toThrow(/klPenalty/);
    expect(() => new ReMax({ schedule: 'cosine' }, ctx)).toThrow(/totalSteps/);
    expect(() => new ReMax({ lr: 1e-3, extra: 1 } as never, ctx)).toThrow(/extra|unrecognized/i);
  });
});
