import { initBackend, isRemaxError, tf } from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CausalLM, loadCausalLM } from '../src/index.js';
import { fixtureDir, readGolden } from './helpers.js';

// Cached decoding must equal the uncached forward within 1e-5 (issue 5), with
// left padding and, for tiny-mistral-swa, the rolling sliding-window cache.
const TOL = 1e-5;

/** Max |cached - uncached| over real positions >= prefill, feeding `chunks` new tokens at a time. */
function cachedVsUncached(
  model: CausalLM,
  ids: number[][],
  mask: number[][],
  prefill: number,
  chunk: number,
) {
  const B = ids.length;
  const T = (ids[0] as number[]).length;
  const full = model.forward({ inputIds: ids, attentionMask: mask });
  const cache = model.createKVCache(B, T);
  let worst = 0;
  try {
    for (let s = 0; s < T; ) {
      const e = s === 0 ? prefill : Math.min(T, s + chunk);
      const step = tf.tidy(() =>
        model.forward({
          inputIds: ids.map((r) => r.slice(s, e)),
          attentionMask: mask.map((r) => r.slice(0, e)),
          kvCache: cache,
        }),
      );
      const want = tf.slice(full, [0, s, 0], [B, e - s, full.shape[2]]);
      const diff = tf.tidy(() => tf.abs(tf.sub(step, want)).max(2).arraySync() as number[][]);
      for (let b = 0; b < B; b++) {
        for (let t = s; t < e; t++)
          if (mask[b]?.[t] === 1) worst = Math.max(worst, diff[b]?.[t - s] as number);
      }
      tf.dispose([step, want]);
      s = e;
    }
    expect(cache.length).toBe(T);
  } finally {
    cache.dispose();
    full.dispose();
  }
  return worst;
}

// Both attention implementations: 'host' runs its per-group path even for one-token steps.
const cases = ['tiny-mistral', 'tiny-mistral-swa', 'unseen-mistral', 'unseen-mistral-swa'].flatMap(
  (name) => (['host', 'batched'] as const).map((how) => [name, how] as const),
);
for (const [name, how] of cases) {
  describe(`KV cache ${name}, ${how} attention`, () => {
    let model: CausalLM;
    const batch = readGolden(name).cases.find((c) => c.name === 'left_padded_batch');
    beforeAll(async () => {
      await initBackend();
      model = await loadCausalLM(fixtureDir(name));
      model.attentionMatMul = how;
    });
    afterAll(() => model?.dispose());

    it('prefill + one token at a time equals the uncached forward (left padding)', () => {
      if (!batch) throw new Error('fixture lacks left_padded_batch');
      const T = (batch.input_ids[0] as number[]).length;
      const worst = cachedVsUncached(model, batch.input_ids, batch.attention_mask, T - 8, 1);
      expect(worst).toBeLessThan(TOL);
    });

    it('several new tokens per call (chunked prefill) equal the uncached forward', () => {
      if (!batch) throw new Error('fixture lacks left_padded_batch');
      expect(cachedVsUncached(model, batch.input_ids, batch.attention_mask, 3, 4)).toBeLessThan(
        TOL,
      );
    });

    it('gatherRows duplicates rows so one prefill serves two continuations', () => {
      if (!batch) throw new Error('fixture lacks left_padded_batch');
      const B = batch.input_ids.length;
      const T = (batch.input_ids[0] as number[]).length;
      const P = T - 2;
      const cache = model.createKVCache(B, T);
      const doubled = (() => {
        tf.dispose(
          model.forward({
            inputIds: batch.input_ids.map((r) => r.slice(0, P)),
            attentionMask: batch.attention_mask.map((r) => r.slice(0, P)),
            kvCache: cache,
          }),
        );
        return cache.gatherRows([...Array(B).keys(), ...Array(B).keys()]);
      })();
      try {
        expect(doubled.length).toBe(P);
        const ids2 = [...batch.input_ids, ...batch.input_ids];
        const mask2 = [...batch.attention_mask, ...batch.attention_mask];
        const fromCache = model.forward({
          inputIds: ids2.map((r) => r.slice(P)),
          attentionMask: mask2,
          kvCache: doubled,
        });
        const full = model.forward({ inputIds: ids2, attentionMask: mask2 });
        const want = tf.slice(full, [0, P, 0], [2 * B, T - P, full.shape[2]]);
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(fromCache, want))).dataSync()[0] as number);
        expect(d).toBeLessThan(TOL);
        tf.dispose([fromCache, full, want]);
      } finally {
        cache.dispose();
        doubled.dispose();
      }
    });
  });
}

describe('KV cache errors', () => {
  let model: CausalLM;
  beforeAll(async () => {
    await initBackend();
    model = await loadCausalLM(fixtureDir('tiny-mistral-swa'));
  });
  afterAll(() => model?.dispose());

  it('rejects a mask that is not the full past + new mask, and a disposed cache', () => {
    const cache = model.createKVCache(1, 8);
    tf.dispose(
      model.forward({ inputIds: [[1, 5, 6]], attentionMask: [[1, 1, 1]], kvCache: cache }),
    );
    let err: unknown;
    try {
      model.forward({ inputIds: [[7]], attentionMask: [[1]], kvCache: cache });
    } catch (e) {
      err = e;
    }
    expect(isRemaxError(err, 'E_SHAPE')).toBe(true);
    expect(String(err)).toContain('FULL mask');
    expect(() =>
      model.forward({
        inputIds: [[7, 8, 9, 10, 11, 12]],
        attentionMask: [[1, 1, 1, 1, 1, 1, 1, 1, 1]],
        kvCache: cache,
      }),
    ).toThrow(/maxLength/);
    cache.dispose();
    expect(() =>
      model.forward({ inputIds: [[7]], attentionMask: [[1, 1, 1, 1]], kvCache: cache }),
    ).toThrow(/dispose/);
  });
});
