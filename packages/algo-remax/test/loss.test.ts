import { initBackend, tf } from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigramPolicy } from '../../../test-support/toyPolicy.js';
import { remaxLoss } from '../src/loss.js';
import { greedyBaseline, remaxReturns } from '../src/returns.js';

let policy: BigramPolicy;
let reference: BigramPolicy;
beforeAll(async () => {
  await initBackend();
  policy = new BigramPolicy(11, 6, 1);
  reference = new BigramPolicy(11, 6, 5);
});
afterAll(() => {
  policy.dispose();
  reference.dispose();
});

const ids = [
  [1, 4, 5, 6, 7, 8, 2, 0],
  [0, 1, 3, 9, 10, 2, 0, 0],
  [1, 2, 3, 4, 5, 6, 7, 8],
];
const mask = [
  [1, 1, 1, 1, 1, 1, 1, 0],
  [0, 1, 1, 1, 1, 1, 0, 0],
  [1, 1, 1, 1, 1, 1, 1, 1],
];
const promptLength = 3;
const reward = [0.9, -0.4, 2.5];
const baselineReward = [0.1, 0.3, 0.2];

function inputs() {
  return {
    inputIds: tf.tensor2d(ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(mask, undefined, 'int32'),
    promptLength,
    reward: tf.tensor1d(reward),
    baselineReward: tf.tensor1d(baselineReward),
  };
}

function disposeInputs(x: ReturnType<typeof inputs>) {
  tf.dispose([x.inputIds, x.attentionMask, x.reward, x.baselineReward]);
}

describe('remaxLoss on a bigram policy', () => {
  for (const klPenalty of ['full_step', 'sampled'] as const) {
    it(`${klPenalty}: loss and gradients equal the naive constant-returns REINFORCE loss`, () => {
      const opts = { klPenalty, klCtl: 0.2, rewardClip: 1, gamma: 0.97 };
      const x = inputs();
      const vars = [...policy.parameters().values()];
      const got = tf.variableGrads(() => remaxLoss(policy, reference, x, opts).loss, vars);
      const { stats, loss } = remaxLoss(policy, reference, x, opts);
      loss.dispose();

      // naive: per-token logprobs and KL from the log-softmax, returns by the paper's formula
      const lsm = tf.tidy(() => tf.logSoftmax(policy.forward(x)).arraySync() as number[][][]);
      const refLsm = tf.tidy(() => tf.logSoftmax(reference.forward(x)).arraySync() as number[][][]);
      const kl = ids.map((row, b) =>
        row.slice(0, -1).map((_, t) => {
          const p = lsm[b]?.[t] as number[];
          const q = refLsm[b]?.[t] as number[];
          if (klPenalty === 'sampled')
            return (p[row[t + 1] as number] as number) - (q[row[t + 1] as number] as number);
          return p.reduce((s, lp, v) => s + Math.exp(lp) * (lp - (q[v] as number)), 0);
        }),
      );
      const actionMask = mask.map((r) => r.slice(1));
      for (let b = 0; b < 3; b++)
        for (let t = 0; t < 7; t++) {
          if (mask[b]?.[t] !== 1 || actionMask[b]?.[t] !== 1) continue;
          expect(stats.kl[b]?.[t]).toBeCloseTo(kl[b]?.[t] as number, 4);
        }
      const { advantages } = greedyBaseline(reward, baselineReward, 1);
      const returns = remaxReturns({ kl, actionMask, advantages, start: promptLength - 1 }, opts);
      let n = 0;
      for (const r of actionMask)
        for (let t = promptLength - 1; t < r.length; t++) n += r[t] as number;
      const weights = tf.tensor2d(returns.map((r) => r.map((v) => -v / n)));
      const want = tf.variableGrads(
        () =>
          tf.sum(
            tf.mul(
              weights,
              tf.tidy(() => {
                const lp = policy.logprobsOf(x);
                return tf.where(tf.notEqual(weights, 0), lp, tf.zerosLike(lp));
              }),
            ),
          ) as tf.Scalar,
        vars,
      );
      expect(got.value.dataSync()[0]).toBeCloseTo(want.value.dataSync()[0] as number, 4);
      for (const name of Object.keys(want.grads)) {
        const a = got.grads[name]?.dataSync() as Float32Array;
        const w = want.grads[name]?.dataSync() as Float32Array;
        for (const [i, v] of a.entries()) expect(v).toBeCloseTo(w[i] as number, 4);
      }
      expect(stats.clipFraction).toBeCloseTo(1 / 3, 12);
      expect(stats.responseTokens).toBe(n);
      tf.dispose([
        got.value,
        want.value,
        weights,
        ...Object.values(got.grads),
        ...Object.values(want.grads),
      ]);
      disposeInputs(x);
    });
  }

  it('rejects a bad prompt length and mismatched rewards with typed errors', () => {
    const x = inputs();
    const opts = { klPenalty: 'sampled' as const, klCtl: 0.1, rewardClip: 1, gamma: 1 };
    expect(() => remaxLoss(policy, reference, { ...x, promptLength: 8 }, opts)).toThrow(
      /promptLength/,
    );
    expect(() => remaxLoss(policy, reference, { ...x, reward: [1, 2] }, opts)).toThrow(
      /reward must hold one value per row/,
    );
    disposeInputs(x);
  });

  it('does not leak tensors across repeated calls', () => {
    const x = inputs();
    const opts = { klPenalty: 'full_step' as const, klCtl: 0.1, rewardClip: 1, gamma: 1 };
    const vars = [...policy.parameters().values()];
    const once = () => {
      const g = tf.variableGrads(() => remaxLoss(policy, reference, x, opts).loss, vars);
      tf.dispose([g.value, ...Object.values(g.grads)]);
    };
    once();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) once();
    expect(tf.memory().numTensors).toBe(before);
    disposeInputs(x);
  });
});
