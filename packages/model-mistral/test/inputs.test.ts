import { initBackend, isRemaxError, Rng, tf } from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CausalLM, createCausalLM, parseCausalLMConfig } from '../src/index.js';

const config = {
  model_type: 'llama',
  vocab_size: 17,
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  rms_norm_eps: 1e-6,
};

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('inputs and config validation', () => {
  let model: CausalLM;
  beforeAll(async () => {
    await initBackend();
    model = createCausalLM(config, { rng: Rng.fromSeed(3) });
  });
  afterAll(() => model?.dispose());

  it('int32 tensors and number[][] give the same logits', () => {
    const ids = [
      [0, 3, 4, 16],
      [5, 6, 7, 8],
    ];
    const mask = [
      [0, 1, 1, 1],
      [1, 1, 1, 1],
    ];
    const d = tf.tidy(() => {
      const a = model.forward({ inputIds: ids, attentionMask: mask });
      const b = model.forward({
        inputIds: tf.tensor2d(ids, [2, 4], 'int32'),
        attentionMask: tf.tensor2d(mask, [2, 4], 'int32'),
      });
      return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    });
    expect(d).toBe(0);
  });

  it('logprobsOf with fromColumn: the same values from that column on, 0 before it; out of range is E_INPUT', () => {
    const ids = [
      [0, 3, 4, 16, 2],
      [5, 6, 7, 8, 9],
    ];
    const mask = [
      [0, 1, 1, 1, 1],
      [1, 1, 1, 1, 1],
    ];
    const all = model.logprobsOf({ inputIds: ids, attentionMask: mask });
    const part = model.logprobsOf({ inputIds: ids, attentionMask: mask }, { fromColumn: 2 });
    const [a, p] = [all.arraySync(), part.arraySync()];
    tf.dispose([all, part]);
    p.forEach((row, b) => {
      row.forEach((v, t) => {
        if (t < 2) expect(v).toBe(0);
        else expect(Math.abs(v - (a[b]?.[t] as number))).toBeLessThan(1e-6);
      });
    });
    for (const fromColumn of [-1, 5, 1.5]) {
      const e = thrown(() =>
        model.logprobsOf({ inputIds: ids, attentionMask: mask }, { fromColumn }),
      );
      expect(isRemaxError(e, 'E_INPUT')).toBe(true);
      expect(String(e)).toContain('fromColumn');
    }
  });

  it('bad inputs are typed errors naming the field and value', () => {
    const e1 = thrown(() => model.forward({ inputIds: [[1, 17]], attentionMask: [[1, 1]] }));
    expect(isRemaxError(e1, 'E_INPUT')).toBe(true);
    expect(String(e1)).toContain('inputIds[0][1]');
    const e2 = thrown(() => model.forward({ inputIds: [[1, 2]], attentionMask: [[1, 2]] }));
    expect(String(e2)).toContain('attentionMask[0][1]');
    const floatIds = tf.tensor2d([[1, 2]]);
    const e3 = thrown(() => model.forward({ inputIds: floatIds, attentionMask: [[1, 1]] }));
    expect(String(e3)).toContain('int32');
    floatIds.dispose();
    const e4 = thrown(() => model.forward({ inputIds: [[1, 2]], attentionMask: [[1, 1, 1]] }));
    expect(isRemaxError(e4, 'E_SHAPE')).toBe(true);
    const e5 = thrown(() =>
      model.forward({ inputIds: [[1, 2], [3]], attentionMask: [[1, 1], [1]] }),
    );
    expect(isRemaxError(e5, 'E_INPUT')).toBe(true);
  });

  it('config errors list every bad key', () => {
    const e = thrown(() =>
      parseCausalLMConfig({ ...config, model_type: 'gpt2', hidden_size: -1 }, 'x/config.json'),
    );
    expect(isRemaxError(e, 'E_CONFIG')).toBe(true);
    const e2 = thrown(() =>
      parseCausalLMConfig({ ...config, num_attention_heads: 3 }, 'x/config.json'),
    );
    expect(String(e2)).toContain('hidden_size');
    expect(String(e2)).toContain('x/config.json');
    const e3 = thrown(() => parseCausalLMConfig({ ...config, hidden_act: 'gelu' }));
    expect(String(e3)).toContain('hidden_act');
  });
});
