import { initBackend, tf } from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttentionMatMul, type CausalLM, loadCausalLM } from '../src/index.js';
import { fixtureDir, readGolden } from './helpers.js';

// Golden numbers: fixtures/models/*/golden.json and fixtures/unseen/*/golden.json
// (other seeds, head counts and window), from an independent float64 PyTorch
// reference of the HF semantics. We compute in float32: 1e-4 absolute.
// Every case runs with both attention implementations: 'host' (per-group
// matMuls and host-memory layouts, forced even where 'auto' would not pick it)
// and 'batched' (tensor ops).
const TOL = 1e-4;
const STRATEGIES: AttentionMatMul[] = ['host', 'batched'];

/** Greedy decoding with the KV cache: prefill, then one token per step. */
function greedyWithCache(model: CausalLM, prompt: number[], steps: number): number[] {
  const cache = model.createKVCache(1, prompt.length + steps);
  const out: number[] = [];
  const mask = [prompt.map(() => 1)];
  try {
    let input = [prompt];
    for (let s = 0; s < steps; s++) {
      const next = tf.tidy(() => {
        const logits = model.forward({
          inputIds: input,
          attentionMask: mask,
          kvCache: cache,
          lastOnly: true,
        });
        return tf.argMax(logits, 2).dataSync()[0] as number;
      });
      out.push(next);
      input = [[next]];
      (mask[0] as number[]).push(1);
    }
  } finally {
    cache.dispose();
  }
  return out;
}

for (const name of ['tiny-mistral', 'tiny-mistral-swa', 'unseen-mistral', 'unseen-mistral-swa']) {
  describe(`golden ${name}`, () => {
    let model: CausalLM;
    const golden = readGolden(name);
    beforeAll(async () => {
      await initBackend();
      model = await loadCausalLM(fixtureDir(name));
    });
    afterAll(() => model?.dispose());

    for (const [how, c] of STRATEGIES.flatMap((h) => golden.cases.map((c) => [h, c] as const))) {
      it(`case ${c.name}, ${how} attention: logits, logsumexp, argmax, next-token logprobs`, () => {
        model.attentionMatMul = how;
        const B = c.input_ids.length;
        const T = (c.input_ids[0] as number[]).length;
        const [logits, lse, argmax, lp] = tf.tidy(() => {
          const lg = model.forward({ inputIds: c.input_ids, attentionMask: c.attention_mask });
          return [
            tf.slice(lg, [0, 0, 0], [B, T, c.logits_first]).arraySync(),
            tf.logSumExp(lg, 2).arraySync() as number[][],
            tf.argMax(lg, 2).arraySync() as number[][],
            model
              .logprobsOf({ inputIds: c.input_ids, attentionMask: c.attention_mask })
              .arraySync(),
          ];
        });
        let compared = 0;
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) {
            if (c.attention_mask[b]?.[t] !== 1) continue; // pad outputs are unspecified
            compared++;
            const want = c.logits[b]?.[t] as number[];
            const got = logits[b]?.[t] as number[];
            for (let v = 0; v < c.logits_first; v++) {
              expect(Math.abs((got[v] as number) - (want[v] as number))).toBeLessThan(TOL);
            }
            expect(
              Math.abs((lse[b]?.[t] as number) - (c.logsumexp[b]?.[t] as number)),
            ).toBeLessThan(TOL);
            expect(argmax[b]?.[t]).toBe(c.argmax[b]?.[t]);
            if (t < T - 1) {
              const d = Math.abs((lp[b]?.[t] as number) - (c.next_token_logprob[b]?.[t] as number));
              expect(d).toBeLessThan(TOL);
            }
          }
        }
        expect(compared).toBeGreaterThan(0);
      });
    }

    it.each(STRATEGIES)(
      'greedy continuations (KV cache, %s attention) equal golden up to the first near-tie',
      (how) => {
        model.attentionMatMul = how;
        for (const g of golden.greedy) {
          const got = greedyWithCache(model, g.prompt_ids, g.new_tokens.length);
          const firstTie = g.top2_margins.findIndex((m) => m < 1e-3);
          const n = firstTie === -1 ? g.new_tokens.length : firstTie;
          expect(got.slice(0, n)).toEqual(g.new_tokens.slice(0, n));
        }
      },
    );
  });
}
