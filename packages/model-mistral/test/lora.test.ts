import { initBackend, tf } from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CausalLM, loadAdapter, loadCausalLM, mergeAdapters } from '../src/index.js';
import { adapterFixtures } from './loraFixtures.js';

// Golden numbers: fixtures/lora/*/golden.json (float64 PyTorch + PEFT semantics). We
// compute in float32: 1e-4 absolute on logits-like outputs, the loss within 1e-5 and
// the gradients within 1e-4, relative. Every number (r, alpha, targets) is read from the
// files, so unseen adapters dropped into fixtures/ are checked the same way.
const TOL = 1e-4;

type Outputs = { logits: number[][][]; lse: number[][]; argmax: number[][]; lp: number[][] };

function outputs(model: CausalLM, ids: number[][], mask: number[][], first: number): Outputs {
  return tf.tidy(() => {
    const lg = model.forward({ inputIds: ids, attentionMask: mask });
    const [B, T] = [ids.length, (ids[0] as number[]).length];
    return {
      logits: tf.slice(lg, [0, 0, 0], [B, T, first]).arraySync() as number[][][],
      lse: tf.logSumExp(lg, 2).arraySync() as number[][],
      argmax: tf.argMax(lg, 2).arraySync() as number[][],
      lp: model.logprobsOf({ inputIds: ids, attentionMask: mask }).arraySync() as number[][],
    };
  });
}

/** Max |got - want| over non-pad positions of a [B, T] table. */
function maxDiff(got: number[][], want: number[][], mask: number[][], cols = Infinity): number {
  let d = 0;
  mask.forEach((row, b) => {
    row.forEach((m, t) => {
      if (m !== 1 || t >= cols) return;
      d = Math.max(d, Math.abs((got[b]?.[t] as number) - (want[b]?.[t] as number)));
    });
  });
  return d;
}

const l2 = (x: ArrayLike<number>): number =>
  Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

for (const fx of adapterFixtures()) {
  const g = fx.golden;
  describe(`LoRA fixture ${fx.name} (r ${g.r}, alpha ${g.lora_alpha}, rslora ${g.use_rslora})`, () => {
    let model: CausalLM;
    beforeAll(async () => {
      await initBackend();
      model = await loadCausalLM(fx.baseDir);
      await loadAdapter(model, fx.dir);
    });
    afterAll(() => model?.dispose());

    it('reads r, alpha, rslora and the targets from the files: scaling and the adapted modules', () => {
      expect(model.adapters?.scaling).toBeCloseTo(g.scaling, 12);
      const keys = [...model.adapterParameters().keys()];
      expect(keys.length).toBe(Object.keys(g.train.grad_l2_norm).length);
      expect(new Set(keys)).toEqual(new Set(Object.keys(g.train.grad_l2_norm)));
    });

    for (const c of g.cases) {
      it(`case ${c.name}: adapted logits, logsumexp, argmax, next-token logprobs within 1e-4`, () => {
        const T = (c.input_ids[0] as number[]).length;
        const o = outputs(model, c.input_ids, c.attention_mask, c.logits_first);
        let compared = 0;
        c.attention_mask.forEach((row, b) => {
          row.forEach((m, t) => {
            if (m !== 1) return;
            compared++;
            const want = c.logits[b]?.[t] as number[];
            const got = o.logits[b]?.[t] as number[];
            for (let v = 0; v < c.logits_first; v++) {
              expect(Math.abs((got[v] as number) - (want[v] as number))).toBeLessThan(TOL);
            }
            expect(o.argmax[b]?.[t]).toBe(c.argmax[b]?.[t]);
          });
        });
        expect(compared).toBeGreaterThan(0);
        expect(maxDiff(o.lse, c.logsumexp, c.attention_mask)).toBeLessThan(TOL);
        expect(maxDiff(o.lp, c.next_token_logprob, c.attention_mask, T - 1)).toBeLessThan(TOL);
      });

      it(`case ${c.name}: adapters disabled equal the base golden; re-enabled after`, () => {
        const off = model.withAdaptersDisabled(() =>
          outputs(model, c.input_ids, c.attention_mask, 1),
        );
        expect(maxDiff(off.lse, c.base_logsumexp, c.attention_mask)).toBeLessThan(TOL);
        const on = outputs(model, c.input_ids, c.attention_mask, 1);
        expect(maxDiff(on.lse, c.logsumexp, c.attention_mask)).toBeLessThan(TOL);
      });
    }

    it('train batch: loss within 1e-5 and every lora_A / lora_B gradient within 1e-4 (relative)', () => {
      const t = g.train;
      const params = model.adapterParameters();
      const valid = t.attention_mask.map((r) => r.slice(1).map((v, i) => v * (r[i] as number)));
      const n = valid.flat().reduce((s, v) => s + v, 0);
      const { value, grads } = tf.variableGrads(
        () =>
          tf.tidy(() => {
            const lp = model.logprobsOf({ inputIds: t.input_ids, attentionMask: t.attention_mask });
            return tf.div(tf.neg(tf.sum(tf.mul(lp, tf.tensor2d(valid)))), n) as tf.Scalar;
          }),
        [...params.values()],
      );
      try {
        const loss = value.dataSync()[0] as number;
        expect(Math.abs(loss - t.loss) / Math.abs(t.loss)).toBeLessThan(1e-5);
        let total = 0;
        for (const [key, v] of params) {
          const gr = grads[v.name] as tf.Tensor;
          const norm = l2(gr.dataSync());
          total += norm * norm;
          const want = t.grad_l2_norm[key] as number;
          expect(Math.abs(norm - want) / want, key).toBeLessThan(1e-4);
          const full = t.grad_values[key];
          if (full) {
            const got = gr.arraySync() as number[][];
            const scale = l2(full.flat());
            const diff = l2(full.flat().map((w, i) => (got.flat()[i] as number) - w));
            expect(diff / scale, key).toBeLessThan(1e-4);
          }
        }
        const want = t.grad_total_l2_norm;
        expect(Math.abs(Math.sqrt(total) - want) / want).toBeLessThan(1e-4);
        expect(Object.keys(t.grad_values).length).toBeGreaterThan(0);
      } finally {
        value.dispose();
        tf.dispose(Object.values(grads));
      }
    });

    it('merged weights equal the adapted model; ||W|| and ||scaling B A|| as golden', async () => {
      const merged = await loadCausalLM(fx.baseDir);
      try {
        await loadAdapter(merged, fx.dir);
        const before = merged.parameters();
        const base = new Map([...before].map(([k, v]) => [k, v.dataSync().slice()]));
        mergeAdapters(merged);
        expect(merged.adapters).toBeNull();
        expect(merged.adapterParameters().size).toBe(0);
        const after = merged.parameters();
        for (const [name, wNorm] of Object.entries(g.merged.weight_l2_norm)) {
          const w = (after.get(name) as tf.Variable).dataSync();
          expect(Math.abs(l2(w) - wNorm) / wNorm, name).toBeLessThan(1e-5);
          const b = base.get(name) as Float32Array;
          const delta = l2(w.map((v, i) => v - (b[i] as number)));
          const want = g.merged.delta_l2_norm[name] as number;
          expect(Math.abs(delta - want) / want, name).toBeLessThan(1e-4);
        }
        for (const c of g.cases) {
          const o = outputs(merged, c.input_ids, c.attention_mask, 1);
          expect(maxDiff(o.lse, c.merged_logsumexp, c.attention_mask)).toBeLessThan(TOL);
        }
      } finally {
        merged.dispose();
      }
    });
  });
}

describe('adapter fixtures', () => {
  it('are present in the repository (fixtures/lora, provenance in fixtures/FIXTURES.md)', () => {
    expect(adapterFixtures().length).toBeGreaterThanOrEqual(2);
  });
});
