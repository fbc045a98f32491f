import { initBackend, Rng, tf } from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CausalLM, createCausalLM } from '../src/index.js';

// A tiny random Mistral: GQA (4 heads / 2 KV heads), sliding window 3, 2 layers.
const config = {
  model_type: 'mistral',
  vocab_size: 13,
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  sliding_window: 3,
  tie_word_embeddings: false,
};
const ids = [
  [0, 0, 3, 7, 1, 12, 5],
  [4, 9, 2, 11, 6, 8, 10],
];
const mask = [
  [0, 0, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1],
];
/** The loss: sum of logprobs of real next tokens predicted from real positions. */
function loss(model: CausalLM): tf.Scalar {
  return tf.tidy(() => {
    const lp = model.logprobsOf({ inputIds: ids, attentionMask: mask });
    const m = tf.tensor2d(mask.map((r) => r.slice(1).map((v, t) => v * (r[t] as number))));
    return tf.sum(tf.mul(lp, m)) as tf.Scalar;
  });
}

describe('gradients', () => {
  let model: CausalLM;
  beforeAll(async () => {
    await initBackend();
    model = createCausalLM(config, { rng: Rng.fromSeed(7), initStd: 0.5 });
  });
  afterAll(() => model?.dispose());

  it('the gradient of the summed logprobs w.r.t. every parameter matches central finite differences', () => {
    const params = model.parameters();
    const { grads } = tf.variableGrads(() => loss(model), [...params.values()]);
    const rng = Rng.fromSeed(11);
    // float32 forward; eps 1e-2 balances truncation (eps²) and rounding (1e-7 * |loss| / eps) errors.
    const eps = 1e-2;
    const tol = (g: number) => 2e-3 + 1e-2 * Math.abs(g);
    let checked = 0;
    for (const [name, v] of params) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      expect(g?.shape, name).toEqual(v.shape);
      const gData = (g as tf.Tensor).dataSync();
      const base = v.dataSync().slice();
      // three random entries per parameter
      for (let k = 0; k < 3; k++) {
        const i = rng.nextInt(base.length);
        const at = (delta: number) => {
          const data = base.slice();
          data[i] = (base[i] as number) + delta;
          v.assign(tf.tensor(data, v.shape));
          const l = loss(model);
          const out = l.dataSync()[0] as number;
          l.dispose();
          return out;
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(base, v.shape));
        const analytic = gData[i] as number;
        expect(Math.abs(fd - analytic), `${name}[${i}]: fd ${fd} vs ${analytic}`).toBeLessThan(
          tol(analytic),
        );
        checked++;
      }
    }
    expect(checked).toBe(3 * params.size);
    tf.dispose(Object.values(grads));
  });

  it('forward, logprobs and backward do not leak tensors', () => {
    const vars = [...model.parameters().values()];
    const step = () => {
      const { value, grads } = tf.variableGrads(() => loss(model), vars);
      tf.dispose([value, ...Object.values(grads)]);
      tf.dispose(model.forward({ inputIds: ids, attentionMask: mask, lastOnly: true }));
      const cache = model.createKVCache(2, 8);
      tf.dispose(model.forward({ inputIds: ids, attentionMask: mask, kvCache: cache }));
      tf.dispose(
        model.forward({
          inputIds: [[1], [2]],
          attentionMask: mask.map((r) => [...r, 1]),
          kvCache: cache,
        }),
      );
      cache.gatherRows([1, 0, 1]).dispose();
      cache.dispose();
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
