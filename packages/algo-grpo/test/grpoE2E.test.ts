// grpoLoss against fixtures/algo/grpo.json: one GRPO step of tiny-mistral-swa
// (policy) against its perturbed reference-policy for every scale_rewards x
// loss_type, computed by an independent float64 PyTorch reference of TRL.
import { tf } from '@remax/core';
import { loadCausalLM } from '@remax/model-mistral';
import { describe, expect, it } from 'vitest';
import { fixtureModels } from '../../../test-support/fixtureModels.js';
import { fixtureScoredBatch } from '../../../test-support/lossHarness.js';
import { grpoLoss } from '../src/loss.js';
import { FIXTURES, l2, loadGrpoFixture, optionsOf, relErr } from './fixture.js';

const fx = loadGrpoFixture();
const N = fx.num_prompts * fx.num_generations;
const models = fixtureModels(FIXTURES, (dir) => loadCausalLM(dir));
const inputs = () => fixtureScoredBatch(fx);

/** Loss and gradients by HF name. */
function lossAndGrads(run: () => tf.Scalar) {
  const vars = models.policy.parameters();
  const { value, grads } = tf.variableGrads(run, [...vars.values()]);
  const byName = new Map<string, tf.Tensor>();
  for (const [name, v] of vars) byName.set(name, grads[v.name] as tf.Tensor);
  return { value, grads: byName };
}

describe('grpoLoss reproduces grpo.json', () => {
  it('the fixture is the batch it says (rows, prompts, masks)', () => {
    expect(fx.input_ids.length).toBe(N);
    expect(fx.scores.length).toBe(N);
    const x = inputs();
    const lp = tf.tidy(() => models.policy.logprobsOf(x).arraySync() as number[][]);
    for (let b = 0; b < N; b++)
      for (let t = fx.prompt_len - 1; t < lp[0]!.length; t++) {
        if (fx.action_mask[b]?.[t] !== 1) continue;
        expect(Math.abs((lp[b]?.[t] as number) - (fx.logprobs[b]?.[t] as number))).toBeLessThan(
          1e-4,
        );
      }
    tf.dispose([x.inputIds, x.attentionMask]);
  });

  for (const v of fx.variants) {
    it(`scale_rewards ${v.scale_rewards}, loss_type ${v.loss_type}: advantages, loss, every gradient`, () => {
      const x = inputs();
      let stats: ReturnType<typeof grpoLoss>['stats'] | undefined;
      const { value, grads } = lossAndGrads(() => {
        const r = grpoLoss(models.policy, models.reference, x, optionsOf(v));
        stats = r.stats;
        return r.loss;
      });
      for (let i = 0; i < N; i++) {
        expect(stats?.advantages[i]).toBeCloseTo(v.advantages[i] as number, 10);
        expect(stats?.groupMean[i]).toBeCloseTo(v.group_mean[i] as number, 10);
        expect(stats?.std[i]).toBeCloseTo(v.std[i] as number, 10);
      }
      const loss = value.dataSync()[0] as number;
      if (v.loss_zero_in_exact_arithmetic) expect(Math.abs(loss)).toBeLessThan(1e-6);
      else expect(relErr(loss, v.loss)).toBeLessThan(1e-5);

      expect([...grads.keys()].sort()).toEqual(Object.keys(v.grad_l2_norm).sort());
      let total = 0;
      for (const [name, g] of grads) {
        const norm = l2(g.dataSync());
        total += norm * norm;
        expect(relErr(norm, v.grad_l2_norm[name] as number), name).toBeLessThan(1e-4);
      }
      expect(relErr(Math.sqrt(total), v.grad_total_l2_norm)).toBeLessThan(1e-4);
      for (const [name, want] of Object.entries(v.grad_values)) {
        const flat = want.flat();
        const got = grads.get(name)?.dataSync() as Float32Array;
        expect(got.length, name).toBe(flat.length);
        // 1e-4 relative to the tensor's RMS (single entries near 0 have no relative scale)
        const scale = l2(flat) / Math.sqrt(flat.length);
        for (let i = 0; i < flat.length; i++) {
          expect(Math.abs((got[i] as number) - (flat[i] as number)), `${name}[${i}]`).toBeLessThan(
            1e-4 * scale,
          );
        }
      }
      tf.dispose([value, ...grads.values(), x.inputIds, x.attentionMask]);
    });
  }

  // the trainer's micro-batches: losses and gradients of a row partition add up to the full batch's
  for (const lossType of ['grpo', 'dapo', 'dr_grpo'] as const) {
    it(`${lossType}: micro-batch losses and gradients add up to the full-batch ones`, () => {
      const v = fx.variants.find((u) => u.loss_type === lossType && u.scale_rewards === 'group');
      if (!v) throw new Error(`no ${lossType} variant in the fixture`);
      const x = inputs();
      const full = lossAndGrads(
        () => grpoLoss(models.policy, models.reference, x, optionsOf(v)).loss,
      );
      const cuts = [0, 1, fx.num_generations + 1, N].filter(
        (c, i, a) => c <= N && a.indexOf(c) === i,
      );
      let loss = 0;
      const sums = new Map<string, tf.Tensor>();
      for (let i = 0; i + 1 < cuts.length; i++) {
        const rows = [cuts[i] as number, cuts[i + 1] as number] as const;
        const part = lossAndGrads(
          () => grpoLoss(models.policy, models.reference, x, { ...optionsOf(v), rows }).loss,
        );
        loss += part.value.dataSync()[0] as number;
        for (const [k, g] of part.grads) {
          const prev = sums.get(k);
          sums.set(k, prev ? tf.add(prev, g) : g.clone());
          prev?.dispose();
        }
        tf.dispose([part.value, ...part.grads.values()]);
      }
      expect(relErr(loss, full.value.dataSync()[0] as number)).toBeLessThan(1e-5);
      for (const [k, g] of full.grads) {
        const diff = tf.tidy(
          () => tf.norm(tf.sub(g, sums.get(k) as tf.Tensor)).dataSync()[0] as number,
        );
        expect(diff / l2(g.dataSync()), k).toBeLessThan(1e-5);
      }
      tf.dispose([
        full.value,
        ...full.grads.values(),
        ...sums.values(),
        x.inputIds,
        x.attentionMask,
      ]);
    });
  }
});
