// generate on the real tiny checkpoints of fixtures/models and the unseen set
// of fixtures/unseen (golden greedy continuations from an independent float64
// PyTorch reference).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initBackend, Rng, tf } from '@remax/core';
import { type CausalLM, loadCausalLM } from '@remax/model-mistral';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../src/index.js';

interface GreedyCase {
  prompt_ids: number[];
  new_tokens: number[];
  top2_margins: number[];
}

const fixtureDir = (name: string) =>
  fileURLToPath(
    new URL(
      `../../../fixtures/${name.startsWith('unseen-') ? 'unseen' : 'models'}/${name}`,
      import.meta.url,
    ),
  );
const GOLDEN_MODELS = ['tiny-mistral', 'tiny-mistral-swa', 'unseen-mistral', 'unseen-mistral-swa'];

function goldenGreedy(name: string): GreedyCase[] {
  const golden = JSON.parse(readFileSync(`${fixtureDir(name)}/golden.json`, 'utf8')) as {
    greedy: GreedyCase[];
  };
  return golden.greedy;
}

/** FIXTURES.md margin rule: compare only up to the first step whose top-2 margin is < 1e-3. */
function comparable(c: GreedyCase): number {
  const i = c.top2_margins.findIndex((m) => m < 1e-3);
  return i < 0 ? c.new_tokens.length : i + 1;
}

/** Left-pads rows to one width (pad id 0, mask 0). */
function leftPad(rows: number[][]): { inputIds: number[][]; attentionMask: number[][] } {
  const P = Math.max(...rows.map((r) => r.length));
  return {
    inputIds: rows.map((r) => [...new Array<number>(P - r.length).fill(0), ...r]),
    attentionMask: rows.map((r) => [...new Array<number>(P - r.length).fill(0), ...r.map(() => 1)]),
  };
}

/** Reference: greedy decoding without a cache, the whole sequence through forward() at each step. */
function uncachedGreedy(
  model: CausalLM,
  ids: number[][],
  mask: number[][],
  steps: number,
): number[][] {
  const seq = ids.map((r) => [...r]);
  const m = mask.map((r) => [...r]);
  for (let s = 0; s < steps; s++) {
    const logits = model.forward({ inputIds: seq, attentionMask: m, lastOnly: true });
    const [B, T, V] = logits.shape;
    const data = logits.dataSync();
    logits.dispose();
    for (let b = 0; b < B; b++) {
      let best = 0;
      const base = (b * T + T - 1) * V;
      for (let v = 1; v < V; v++)
        if ((data[base + v] as number) > (data[base + best] as number)) best = v;
      seq[b]?.push(best);
      m[b]?.push(1);
    }
  }
  return seq.map((r, b) => r.slice((ids[b] as number[]).length));
}

const models = new Map<string, CausalLM>();

beforeAll(async () => {
  await initBackend();
  for (const name of GOLDEN_MODELS) {
    models.set(name, await loadCausalLM(fixtureDir(name)));
  }
});

afterAll(() => {
  for (const m of models.values()) m.dispose();
});

describe.each(GOLDEN_MODELS)('greedy generation on %s', (name) => {
  const cases = goldenGreedy(name);
  const steps = Math.max(...cases.map((c) => c.new_tokens.length));

  it('equals the golden continuations, one prompt at a time (no padding)', async () => {
    const model = models.get(name) as CausalLM;
    for (const c of cases) {
      const r = await generate(
        model,
        { inputIds: [c.prompt_ids], attentionMask: [c.prompt_ids.map(() => 1)] },
        { maxNewTokens: c.new_tokens.length, greedy: true, eosTokenId: [] },
      );
      const n = comparable(c);
      expect(r.responses[0]?.slice(0, n)).toEqual(c.new_tokens.slice(0, n));
      r.dispose();
    }
  });

  it('equals the golden continuations with left padding, and uncached step-by-step decoding', async () => {
    const model = models.get(name) as CausalLM;
    const batch = leftPad(cases.map((c) => c.prompt_ids));
    const r = await generate(model, batch, { maxNewTokens: steps, greedy: true, eosTokenId: [] });
    cases.forEach((c, b) => {
      const n = comparable(c);
      expect(r.responses[b]?.slice(0, n)).toEqual(c.new_tokens.slice(0, n));
    });
    expect(r.responses).toEqual(uncachedGreedy(model, batch.inputIds, batch.attentionMask, steps));
    r.dispose();
  });
});

describe('rows that finish early', () => {
  it('leave the batch without changing the other rows (EOS = a golden token)', async () => {
    const model = models.get('tiny-mistral-swa') as CausalLM;
    const cases = goldenGreedy('tiny-mistral-swa');
    const steps = Math.max(...cases.map((c) => c.new_tokens.length));
    const eos = cases[0]?.new_tokens[3] as number; // row 0 stops early
    const r = await generate(model, leftPad(cases.map((c) => c.prompt_ids)), {
      maxNewTokens: steps,
      greedy: true,
      eosTokenId: eos,
      padTokenId: 0,
    });
    cases.forEach((c, b) => {
      const stop = c.new_tokens.indexOf(eos);
      const expected = stop < 0 ? c.new_tokens : c.new_tokens.slice(0, stop + 1);
      expect(r.responses[b]).toEqual(expected);
      expect(r.finishReason[b]).toBe(stop < 0 ? 'length' : 'eos');
    });
    // row 0 left the batch while another row went on to the end
    expect(r.responseLengths[0]).toBeLessThan(steps);
    expect(Math.max(...r.responseLengths)).toBe(steps);
    r.dispose();
  });
});

describe('sampling on tiny-mistral', () => {
  // 8 prompts of different lengths: the 3 golden ones and 5 random ones
  const rng = Rng.fromSeed(99);
  const prompts = [
    ...goldenGreedy('tiny-mistral').map((c) => c.prompt_ids),
    ...[5, 9, 20, 3, 12].map((len) => [
      1,
      ...Array.from({ length: len }, () => 3 + rng.nextInt(31990)),
    ]),
  ];
  const sampling = {
    maxNewTokens: 10,
    temperature: 0.7,
    topP: 0.9,
    seed: 1234,
    eosTokenId: 2,
    returnLogprobs: true,
  };

  it('a prompt gets the same tokens alone and in a batch of 8 (same seed, same prompt index)', async () => {
    const model = models.get('tiny-mistral') as CausalLM;
    const batch = await generate(model, leftPad(prompts), sampling);
    const batchLogprobs = (batch.logprobs as tf.Tensor2D).arraySync();
    for (const i of [0, 4, 7]) {
      const alone = await generate(model, leftPad([prompts[i] as number[]]), {
        ...sampling,
        promptIndices: [i],
      });
      expect(alone.responses[0]).toEqual(batch.responses[i]);
      const aloneLogprobs = (alone.logprobs as tf.Tensor2D).arraySync()[0] as number[];
      aloneLogprobs.forEach((lp, t) => {
        expect(lp).toBeCloseTo(batchLogprobs[i]?.[t] as number, 4);
      });
      alone.dispose();
    }
    // rows sample different streams, and the same seed repeats exactly
    expect(new Set(batch.responses.map((r) => r.join(','))).size).toBe(8);
    const again = await generate(model, leftPad(prompts), sampling);
    expect(again.responses).toEqual(batch.responses);
    again.dispose();
    batch.dispose();
  });

  it('pairs mode equals a sampled call plus a greedy call, from one prefill', async () => {
    const model = models.get('tiny-mistral') as CausalLM;
    const batch = leftPad(prompts.slice(0, 4));
    const pairs = await generate(model, batch, { ...sampling, pairs: true });
    const sampled = await generate(model, batch, sampling);
    const greedy = await generate(model, batch, { ...sampling, greedy: true, seed: undefined });
    expect(pairs.responses.slice(0, 4)).toEqual(sampled.responses);
    expect(pairs.responses.slice(4)).toEqual(greedy.responses);
    // the response block of the sequences is the responses, right-padded with mask 0
    const seqs = pairs.sequences.arraySync();
    const mask = pairs.attentionMask.arraySync();
    pairs.responses.forEach((resp, r) => {
      const tail = (seqs[r] as number[]).slice(pairs.promptLength);
      const tailMask = (mask[r] as number[]).slice(pairs.promptLength);
      expect(tail.slice(0, resp.length)).toEqual(resp);
      expect(tailMask).toEqual(tail.map((_, t) => (t < resp.length ? 1 : 0)));
    });
    for (const r of [pairs, sampled, greedy]) r.dispose();
  });

  it('leaks no tensors across repeated calls', async () => {
    const model = models.get('tiny-mistral') as CausalLM;
    const batch = leftPad(prompts.slice(0, 2));
    (await generate(model, batch, { ...sampling, pairs: true })).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++)
      (await generate(model, batch, { ...sampling, pairs: true })).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
