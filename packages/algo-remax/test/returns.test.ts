import { countResponseTokens, sampledKL } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { greedyBaseline, remaxReturns } from '../src/returns.js';
import { loadRemaxE2E } from './fixture.js';

const e2e = loadRemaxE2E();
const actionMask = e2e.attention_mask.map((row) => row.slice(1));
const start = e2e.prompt_len - 1;

/** The conventions' text, written as a plain loop with another way of finding `end`. */
function naiveReturns(
  kl: number[][],
  mask: number[][],
  reward: number[],
  baseline: number[],
  c: number,
  klCtl: number,
  gamma: number,
): number[][] {
  return mask.map((row, b) => {
    let last = -1;
    for (let t = 0; t < row.length; t++) if (t >= start && row[t] === 1) last = t;
    const end = last + 1;
    let adv = (reward[b] as number) - (baseline[b] as number);
    if (adv > c) adv = c;
    if (adv < -c) adv = -c;
    return row.map((_, t) => {
      if (t < start || t >= end) return 0;
      let discount = 1;
      for (let k = 0; k < end - t; k++) discount *= gamma;
      return -klCtl * (kl[b]?.[t] as number) + discount * adv;
    });
  });
}

describe('remaxReturns', () => {
  for (const v of e2e.variants) {
    it(`matches remax-e2e.json (${v.kl_penalty}, gamma ${v.gamma})`, () => {
      const kl =
        v.kl_penalty === 'full_step'
          ? e2e.full_kl
          : sampledKL(e2e.logprobs, e2e.ref_logprobs, 'k1');
      const { advantages } = greedyBaseline(e2e.reward, e2e.baseline_reward, v.reward_clip);
      const returns = remaxReturns(
        { kl, actionMask, advantages, start },
        { klCtl: v.kl_ctl, gamma: v.gamma },
      );
      const naive = naiveReturns(
        kl,
        actionMask,
        e2e.reward,
        e2e.baseline_reward,
        v.reward_clip,
        v.kl_ctl,
        v.gamma,
      );
      for (const [b, row] of returns.entries()) {
        for (const [t, r] of row.entries()) {
          // fixture values are printed with 7 significant digits
          expect(Math.abs(r - (v.returns[b]?.[t] as number))).toBeLessThan(2e-6);
          expect(r).toBeCloseTo(naive[b]?.[t] as number, 12);
        }
      }
      // the loss from the fixture's own logprobs (rounded) and our returns
      let sum = 0;
      for (const [b, row] of returns.entries()) {
        for (const [t, r] of row.entries()) {
          if (t >= start)
            sum += -r * (e2e.logprobs[b]?.[t] as number) * (actionMask[b]?.[t] as number);
        }
      }
      const loss = sum / countResponseTokens(actionMask, start);
      expect(Math.abs(loss - v.loss) / Math.abs(v.loss)).toBeLessThan(1e-6);
    });
  }

  it('is zero outside [start, end) and follows random inputs like the naive loop', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let trial = 0; trial < 20; trial++) {
      const B = 3;
      const W = 9;
      const mask = Array.from({ length: B }, () => {
        const len = Math.floor(rand() * (W - start + 1));
        return Array.from({ length: W }, (_, t) => (t < start ? 1 : t < start + len ? 1 : 0));
      });
      const kl = mask.map((row) => row.map(() => rand() * 2 - 0.5));
      const reward = [rand() * 6 - 3, rand() * 6 - 3, rand() * 6 - 3];
      const base = [rand() * 6 - 3, rand() * 6 - 3, rand() * 6 - 3];
      const gamma = 0.9 + rand() * 0.1;
      const { advantages } = greedyBaseline(reward, base, 1.5);
      const got = remaxReturns({ kl, actionMask: mask, advantages, start }, { klCtl: 0.3, gamma });
      const want = naiveReturns(kl, mask, reward, base, 1.5, 0.3, gamma);
      for (const [b, row] of got.entries()) {
        for (const [t, r] of row.entries()) expect(r).toBeCloseTo(want[b]?.[t] as number, 12);
      }
    }
  });
});

describe('greedyBaseline', () => {
  it('clips reward minus greedy reward and flags the clipped rows', () => {
    const { advantages, clipped } = greedyBaseline([0.7, -2.5, 1.0, 3], [0.2, 0.4, 0.0, 3], 1.0);
    expect(advantages[0]).toBeCloseTo(0.5, 12);
    expect(advantages.slice(1)).toEqual([-1, 1, 0]);
    expect(clipped).toEqual([false, true, false, false]);
  });
});
