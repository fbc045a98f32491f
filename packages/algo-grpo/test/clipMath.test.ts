// grpoObjective (the token math grpoLoss runs) against grpo.json's clip_math: old
// log-probabilities that differ from the new ones so that every clip case occurs.
import { initBackend, tf } from '@remax/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { aggregationWeights, grpoObjective } from '../src/objective.js';
import { l2, loadGrpoFixture, relErr } from './fixture.js';

const cm = loadGrpoFixture().clip_math;
const count = (flags: number[][]) => flags.flat().reduce((a, b) => a + b, 0);

beforeAll(async () => {
  await initBackend();
});

describe('grpoObjective reproduces clip_math', () => {
  for (const c of cm.cases) {
    it(`${c.loss_type}: loss, d loss / d logprobs, clip counts`, () => {
      const [B, L] = [cm.logprobs.length, cm.logprobs[0]?.length as number];
      const old = tf.tensor2d(cm.old_logprobs);
      const ref = tf.tensor2d(cm.ref_logprobs);
      const terms = {
        mask: cm.mask,
        weights: aggregationWeights(cm.mask, c.loss_type, cm.max_completion_length),
        advantages: cm.advantages,
        oldLogprobs: old,
        refLogprobs: ref,
      };
      const options = { beta: cm.beta, epsilonLow: cm.epsilon_low, epsilonHigh: cm.epsilon_high };
      let clipped = { low: 0, high: 0 };
      const lp = tf.tensor2d(cm.logprobs);
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => {
        const r = grpoObjective(x as tf.Tensor2D, terms, options);
        clipped = { low: r.lowClipped, high: r.highClipped };
        return r.loss;
      })(lp);
      expect(relErr(value.dataSync()[0] as number, c.loss)).toBeLessThan(1e-5);
      const got = grad.arraySync() as number[][];
      const scale = l2(c.dloss_dlogprobs.flat()) / Math.sqrt(B * L);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < L; t++) {
          const want = c.dloss_dlogprobs[b]?.[t] as number;
          expect(Math.abs((got[b]?.[t] as number) - want), `[${b}, ${t}]`).toBeLessThan(
            1e-4 * scale,
          );
        }
      expect(clipped.low).toBe(count(cm.clip_flags.low_clipped_neg_adv));
      expect(clipped.high).toBe(count(cm.clip_flags.high_clipped_pos_adv));
      tf.dispose([value, grad, lp, old, ref]);
    });
  }

  it('dr_grpo refuses a maxCompletionLength below the longest response', () => {
    const longest = Math.max(...cm.mask.map((r) => r.reduce((a, b) => a + b, 0)));
    expect(() => aggregationWeights(cm.mask, 'dr_grpo', longest - 1)).toThrow(
      /maxCompletionLength/,
    );
    expect(() => aggregationWeights(cm.mask, 'dr_grpo')).toThrow(/maxCompletionLength/);
  });
});
