// @remax/core src/rl: the parts every REINFORCE-style algorithm shares, each
// against a naive version (ReMax's and PPO's fixture tests cover them end to end).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AdaptiveKLController,
  clippedSurrogate,
  FixedKLController,
  groupMeans,
  initBackend,
  klEstimate,
  klEstimateTensor,
  policyGradientLoss,
  RemaxError,
  responseMask,
  tf,
  truncatedISWeights,
  unbiasedStd,
} from '../src/index.js';
import type { Policy } from '../src/types.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('KL estimators', () => {
  it('k1, k2, k3 follow their definitions (naive ratio forms)', () => {
    for (const [lp, rlp] of [
      [-1.2, -0.7],
      [-3, -3],
      [-0.1, -5],
      [-7, -2.5],
    ] as const) {
      const p = Math.exp(lp);
      const q = Math.exp(rlp);
      expect(klEstimate(lp, rlp, 'k1')).toBeCloseTo(Math.log(p / q), 10);
      expect(klEstimate(lp, rlp, 'k2')).toBeCloseTo(0.5 * Math.log(p / q) ** 2, 10);
      expect(klEstimate(lp, rlp, 'k3')).toBeCloseTo(q / p - 1 - Math.log(q / p), 8);
      expect(klEstimate(lp, rlp, 'k2')).toBeGreaterThanOrEqual(0);
      expect(klEstimate(lp, rlp, 'k3')).toBeGreaterThanOrEqual(0);
    }
  });

  it('the three sampled estimates agree on average with the exact KL of a small distribution', () => {
    // E_p[k] for p, q over 4 outcomes: k1 and k3 are unbiased, k2 is close for near distributions
    const p = [0.4, 0.3, 0.2, 0.1];
    const q = [0.35, 0.3, 0.25, 0.1];
    const exact = p.reduce((s, pi, i) => s + pi * Math.log(pi / (q[i] as number)), 0);
    const expectation = (est: 'k1' | 'k2' | 'k3') =>
      p.reduce((s, pi, i) => s + pi * klEstimate(Math.log(pi), Math.log(q[i] as number), est), 0);
    expect(expectation('k1')).toBeCloseTo(exact, 12);
    expect(expectation('k3')).toBeCloseTo(exact, 12);
    expect(Math.abs(expectation('k2') - exact)).toBeLessThan(0.1 * exact);
  });
});

describe('KL controllers', () => {
  it('fixed never moves', () => {
    const c = new FixedKLController(0.1);
    c.update(100, 8);
    expect(c.value).toBe(0.1);
  });

  it('adaptive follows Ziegler et al. step by step', () => {
    const c = new AdaptiveKLController(0.1, 6, 10000);
    const observed = [12, 3, 6, 100, 0, Number.NaN, 5.5];
    let beta = 0.1;
    for (const kl of observed) {
      c.update(kl, 64);
      if (Number.isFinite(kl)) {
        let e = kl / 6 - 1;
        if (e > 0.2) e = 0.2;
        if (e < -0.2) e = -0.2;
        beta = beta * (1 + (e * 64) / 10000);
      }
      expect(c.value).toBeCloseTo(beta, 15);
    }
    const up = new AdaptiveKLController(0.1, 6, 100);
    up.update(9, 10);
    expect(up.value).toBeCloseTo(0.1 * (1 + 0.2 * 0.1), 15); // KL above target raises beta (error clipped)
    const down = new AdaptiveKLController(0.1, 6, 100);
    down.update(5.4, 10);
    expect(down.value).toBeCloseTo(0.1 * (1 - 0.1 * 0.1), 15);
  });
});

describe('tensor KL estimators', () => {
  it('klEstimateTensor equals klEstimate element-wise, and its gradient is the derivative', () => {
    const lp = [-1.2, -3, -0.1, -7];
    const ref = [-0.7, -3, -5, -2.5];
    for (const est of ['k1', 'k2', 'k3'] as const) {
      const got = tf.tidy(() =>
        klEstimateTensor(tf.tensor1d(lp), tf.tensor1d(ref), est).arraySync(),
      );
      (got as number[]).forEach((v, i) => {
        expect(v).toBeCloseTo(klEstimate(lp[i] as number, ref[i] as number, est), 4);
      });
    }
    // d k3 / d lp = 1 - exp(ref - lp)
    const g = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => tf.sum(klEstimateTensor(x, tf.tensor1d(ref), 'k3')))(
          tf.tensor1d(lp),
        )
        .arraySync(),
    ) as number[];
    g.forEach((v, i) => {
      expect(v).toBeCloseTo(1 - Math.exp((ref[i] as number) - (lp[i] as number)), 4);
    });
  });
});

describe('clippedSurrogate', () => {
  it('is -min(r A, clip(r, 1-lo, 1+hi) A) in every clip case', () => {
    const lp = [0.5, -0.5, 0.05, 0.5, -0.5];
    const old = [0, 0, 0, 0, 0];
    const adv = [1, 1, -2, -1, -1];
    const got = tf.tidy(() =>
      clippedSurrogate(tf.tensor1d(lp), tf.tensor1d(old), tf.tensor1d(adv), 0.2, 0.28).arraySync(),
    ) as number[];
    got.forEach((v, i) => {
      const r = Math.exp((lp[i] as number) - (old[i] as number));
      const a = adv[i] as number;
      const want = -Math.min(r * a, Math.min(1.28, Math.max(0.8, r)) * a);
      expect(v).toBeCloseTo(want, 5);
    });
  });
});

describe('group statistics', () => {
  it('groupMeans per prompt and unbiasedStd with n - 1', () => {
    expect(groupMeans([1, 2, 3, 10, 20, 30], 3)).toEqual([2, 20]);
    expect(unbiasedStd([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(unbiasedStd([7])).toBeNaN();
    expect(() => groupMeans([1, 2, 3], 2)).toThrow(RemaxError);
  });
});

describe('policyGradientLoss', () => {
  it('masks by the response mask, not by returns != 0 (NaN logprobs off the mask stay out)', () => {
    // a fake policy whose logprobs are fixed (and NaN at a prompt position)
    const values = [
      [Number.NaN, -1, -2, -3],
      [-0.5, -0.25, -4, Number.NaN],
    ];
    const policy = {
      logprobsOf: () => tf.tensor2d(values),
    } as unknown as Policy;
    const batch = {
      inputIds: tf.tensor2d(
        [
          [1, 2, 3, 4, 5],
          [1, 2, 3, 4, 5],
        ],
        undefined,
        'int32',
      ),
      attentionMask: tf.tensor2d(
        [
          [1, 1, 1, 1, 1],
          [0, 1, 1, 1, 0],
        ],
        undefined,
        'int32',
      ),
      promptLength: 2,
    };
    // returns nonzero on a prompt column (t = 0): must be ignored
    const returns = [
      [5, 0, 1, 1],
      [0, 0, 2, 2],
    ];
    const loss = policyGradientLoss(policy, batch, returns, 4);
    const mask = responseMask(
      [
        [1, 1, 1, 1],
        [1, 1, 1, 0],
      ],
      1,
    );
    let want = 0;
    returns.forEach((row, b) => {
      row.forEach((r, t) => {
        if (mask[b]?.[t]) want += (-r * (values[b]?.[t] as number)) / 4;
      });
    });
    expect(loss.dataSync()[0]).toBeCloseTo(want, 5);
    tf.dispose([loss, batch.inputIds, batch.attentionMask]);
  });
});

describe('truncatedISWeights', () => {
  it('min(exp(lp_train - lp_engine), cap) on response tokens, 1 elsewhere (given numbers)', () => {
    // [B, T-1] training logprobs; response starts at t = 1; rollout logprobs [B, R]
    const train = [
      [-1, -0.5, -2, -0.1],
      [-3, -1, -1, -1],
    ];
    const engine = [
      [-0.7, -2.5, 0],
      [-1, -0.2, -5],
    ];
    const w = truncatedISWeights(train, engine, [2, 3], 1, 1.5);
    expect(w[0]?.[0]).toBe(1); // prompt
    expect(w[0]?.[1]).toBeCloseTo(Math.exp(0.2), 12);
    expect(w[0]?.[2]).toBe(1.5); // exp(0.5) = 1.65 capped
    expect(w[0]?.[3]).toBe(1); // after the response (length 2)
    expect(w[1]?.[0]).toBe(1);
    expect(w[1]?.[1]).toBe(1);
    expect(w[1]?.[2]).toBeCloseTo(Math.exp(-0.8), 12);
    expect(w[1]?.[3]).toBe(1.5); // exp(4) capped
  });

  it('rejects a bad cap and rollout logprobs shorter than the response', () => {
    expect(() => truncatedISWeights([[0]], [[0]], [1], 0, 0)).toThrow(RemaxError);
    expect(() => truncatedISWeights([[0, 0]], [[0]], [2], 0, 2)).toThrow(
      /shorter than the response/,
    );
  });
});
