// Golden numbers: fixtures/algo/ppo-math.json (independent float64 PyTorch
// reference of DeepSpeed-Chat's ppo_trainer math).
import { readFileSync } from 'node:fs';
import { initBackend, tf } from '@remax/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { actorLoss, advantagesAndReturns, computeRewards, criticLoss } from '../src/index.js';

interface PpoCase {
  prompt_len: number;
  action_mask: number[][];
  logprobs_old: number[][];
  ref_logprobs: number[][];
  values_old: number[][];
  reward_score: number[];
  logprobs_new: number[][];
  values_new: number[][];
  hyper: {
    kl_ctl: number;
    reward_clip: number;
    gamma: number;
    lam: number;
    cliprange: number;
    cliprange_value: number;
  };
  rewards: number[][];
  advantages: number[][];
  returns: number[][];
  actor_loss: number;
  critic_loss: number;
}

const fixture = JSON.parse(
  readFileSync(new URL('../../../fixtures/algo/ppo-math.json', import.meta.url), 'utf8'),
) as { cases: PpoCase[] };

function expectRowsClose(actual: number[][], expected: number[][], tol: number) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, b) => {
    expect(row.length).toBe(expected[b]?.length);
    row.forEach((x, t) => {
      expect(Math.abs(x - (expected[b]?.[t] as number))).toBeLessThan(tol);
    });
  });
}

const response = (rows: number[][], start: number) => rows.map((r) => r.slice(start));

beforeAll(async () => {
  await initBackend();
});

describe.each(fixture.cases.map((c, i) => [i, c] as const))('ppo-math case %i', (_i, c) => {
  const h = c.hyper;
  const start = c.prompt_len - 1;
  const rewards = computeRewards(
    {
      logprobs: c.logprobs_old,
      refLogprobs: c.ref_logprobs,
      rewardScore: c.reward_score,
      actionMask: c.action_mask,
      promptLength: c.prompt_len,
    },
    { klCtl: h.kl_ctl, rewardClip: h.reward_clip },
  );
  const gae = advantagesAndReturns(
    { values: c.values_old, rewards, actionMask: c.action_mask, promptLength: c.prompt_len },
    { gamma: h.gamma, lam: h.lam },
  );

  it('computeRewards matches', () => expectRowsClose(rewards, c.rewards, 1e-5));
  it('advantages and returns match', () => {
    expectRowsClose(gae.advantages, c.advantages, 1e-5);
    expectRowsClose(gae.returns, c.returns, 1e-5);
  });
  it('actor and critic losses match', () => {
    const before = tf.memory().numTensors;
    const inputs: tf.Tensor[] = [];
    const t = (rows: number[][]) => {
      const x = tf.tensor2d(rows);
      inputs.push(x);
      return x;
    };
    const mask = t(response(c.action_mask, start));
    const actor = actorLoss(
      t(response(c.logprobs_new, start)),
      t(response(c.logprobs_old, start)),
      t(gae.advantages),
      mask,
      h.cliprange,
    );
    const critic = criticLoss(
      t(response(c.values_new, start)),
      t(response(gae.values, start)),
      t(gae.returns),
      mask,
      h.cliprange_value,
    );
    expect(Math.abs(actor.dataSync()[0]! - c.actor_loss)).toBeLessThan(
      1e-5 * Math.max(1, Math.abs(c.actor_loss)),
    );
    expect(Math.abs(critic.dataSync()[0]! - c.critic_loss)).toBeLessThan(
      1e-5 * Math.max(1, Math.abs(c.critic_loss)),
    );
    tf.dispose([...inputs, actor, critic]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('actorLoss with truncated importance-sampling weights', () => {
  it('weights each token of the clipped surrogate; no gradient through the weights (given tensors)', () => {
    const old = tf.tensor2d([[-1.1, -1.9]]);
    const adv = tf.tensor2d([[1, -2]]);
    const mask = tf.tensor2d([[1, 1]]);
    const w = tf.tensor2d([[0.5, 2]]);
    const lp = tf.variable(tf.tensor2d([[-1, -2]]));
    try {
      const { value, grads } = tf.variableGrads(
        () => actorLoss(lp, old, adv, mask, 0.2, undefined, w),
        [lp],
      );
      // ratios e^0.1 and e^-0.1 stay inside [0.8, 1.2]: terms -r*A
      const r0 = Math.exp(0.1);
      const r1 = Math.exp(-0.1);
      expect(value.dataSync()[0]).toBeCloseTo((0.5 * -r0 + 2 * (2 * r1)) / 2, 5);
      // d/dlp of -r*A*w/2 = -r*A*w/2
      const g = grads[lp.name]?.dataSync() as Float32Array;
      expect(g[0]).toBeCloseTo((-r0 * 1 * 0.5) / 2, 5);
      expect(g[1]).toBeCloseTo((-r1 * -2 * 2) / 2, 5);
      tf.dispose([value, ...Object.values(grads)]);
      // without weights: the plain surrogate
      const plain = actorLoss(lp, old, adv, mask, 0.2);
      expect(plain.dataSync()[0]).toBeCloseTo((-r0 + 2 * r1) / 2, 5);
      plain.dispose();
    } finally {
      tf.dispose([old, adv, mask, w, lp]);
    }
  });
});
