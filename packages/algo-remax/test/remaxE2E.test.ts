// remaxLoss against fixtures/algo/remax-e2e.json: one ReMax step of
// tiny-mistral-swa (policy) against its perturbed reference-policy, computed by
// an independent float64 PyTorch reference.
import { tf } from '@remax/core';
import { loadCausalLM } from '@remax/model-mistral';
import { describe, expect, it } from 'vitest';
import { fixtureModels } from '../../../test-support/fixtureModels.js';
import { remaxLoss } from '../src/loss.js';
import { FIXTURES, loadRemaxE2E } from './fixture.js';

const e2e = loadRemaxE2E();
const models = fixtureModels(FIXTURES, (dir) => loadCausalLM(dir));

function inputs() {
  return {
    inputIds: tf.tensor2d(e2e.input_ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(e2e.attention_mask, undefined, 'int32'),
    promptLength: e2e.prompt_len,
    reward: tf.tensor1d(e2e.reward),
    baselineReward: tf.tensor1d(e2e.baseline_reward),
  };
}

/** Positions where the conventions define logprobs: mask[t] and mask[t+1] both 1. */
function defined(b: number, t: number): boolean {
  const m = e2e.attention_mask[b] as number[];
  return m[t] === 1 && m[t + 1] === 1;
}

const l2 = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

describe('remaxLoss reproduces remax-e2e.json', () => {
  for (const v of e2e.variants) {
    it(`${v.kl_penalty}, gamma ${v.gamma}: logprobs, KL, returns, loss${v.grad_l2_norm ? ', gradients' : ''}`, () => {
      const x = inputs();
      const opts = {
        klPenalty: v.kl_penalty,
        klCtl: v.kl_ctl,
        rewardClip: v.reward_clip,
        gamma: v.gamma,
      };
      const vars = models.policy.parameters();
      const names = [...vars.keys()];
      const { value, grads } = tf.variableGrads(() => {
        const { loss, stats } = remaxLoss(models.policy, models.reference, x, opts);
        for (let b = 0; b < 2; b++) {
          for (let t = 0; t < e2e.input_ids[0]!.length - 1; t++) {
            if (!defined(b, t)) continue;
            expect(
              Math.abs((stats.logprobs[b]?.[t] as number) - (e2e.logprobs[b]?.[t] as number)),
            ).toBeLessThan(1e-4);
            expect(
              Math.abs(
                (stats.refLogprobs[b]?.[t] as number) - (e2e.ref_logprobs[b]?.[t] as number),
              ),
            ).toBeLessThan(1e-4);
            expect(
              Math.abs((stats.fullKl[b]?.[t] as number) - (e2e.full_kl[b]?.[t] as number)),
            ).toBeLessThan(1e-4);
            expect(
              Math.abs((stats.returns[b]?.[t] as number) - (v.returns[b]?.[t] as number)),
            ).toBeLessThan(1e-4);
          }
        }
        return loss;
      }, [...vars.values()]);
      const loss = value.dataSync()[0] as number;
      expect(Math.abs(loss - v.loss) / Math.abs(v.loss)).toBeLessThan(1e-5);

      if (v.grad_l2_norm) {
        // gradients are in HF layout ([out, in]), the fixture's layout
        let total = 0;
        // variableGrads keys gradients by tf.Variable.name; report them by HF name
        const gradOf = (name: string) => grads[(vars.get(name) as tf.Variable).name];
        for (const name of names) {
          const g = gradOf(name);
          expect(g, name).toBeDefined();
          const norm = l2(g?.dataSync() as Float32Array);
          total += norm * norm;
          const want = v.grad_l2_norm[name] as number;
          expect(Math.abs(norm - want) / want, name).toBeLessThan(1e-4);
        }
        expect(Object.keys(v.grad_l2_norm).sort()).toEqual([...names].sort());
        expect(
          Math.abs(Math.sqrt(total) - (v.grad_total_l2_norm as number)) /
            (v.grad_total_l2_norm as number),
        ).toBeLessThan(1e-4);
        for (const [name, want] of Object.entries(v.grad_values ?? {})) {
          const got = gradOf(name)?.dataSync() as Float32Array;
          expect(got.length, name).toBe(want.length);
          // printed with 7 significant digits; 1e-4 relative to the tensor's scale
          const scale = l2(want) / Math.sqrt(want.length);
          for (let i = 0; i < want.length; i++) {
            expect(
              Math.abs((got[i] as number) - (want[i] as number)),
              `${name}[${i}]`,
            ).toBeLessThan(1e-4 * scale + 1e-6);
          }
        }
      }
      tf.dispose([
        value,
        ...Object.values(grads),
        x.inputIds,
        x.attentionMask,
        x.reward,
        x.baselineReward,
      ]);
    });
  }
});
