// openAIRolloutGenerator against `serve` on 127.0.0.1: the same seeded rollout
// as in-process generation, token for token, and greedy = the golden continuations.
import { initBackend, type Rollout, type RolloutSequences, tf } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openAIRolloutGenerator,
  type RolloutSettings,
  type RunningServer,
  rolloutGenerator,
} from '../src/index.js';
import { fixtureDir, goldenGreedy, leftPad, loadCausalLM, serveFixture } from './serveFixture.js';

const NAME = 'tiny-mistral';
let model: CausalLM;
let server: RunningServer;

beforeAll(async () => {
  await initBackend();
  model = await loadCausalLM(fixtureDir(NAME));
  server = await serveFixture(NAME, model);
});

afterAll(async () => {
  await server?.close();
  model?.dispose();
});

function promptBatch(rows: number[][]) {
  const { inputIds, attentionMask } = leftPad(rows);
  return {
    inputIds: tf.tensor2d(inputIds, undefined, 'int32'),
    attentionMask: tf.tensor2d(attentionMask, undefined, 'int32'),
  };
}

function plain(s: RolloutSequences) {
  return {
    inputIds: s.inputIds.arraySync(),
    attentionMask: s.attentionMask.arraySync(),
    promptLength: s.promptLength,
    responseLengths: [...s.responseLengths],
  };
}

function disposeRollout(r: Rollout) {
  for (const s of [r.sampled, r.greedy]) {
    if (s) tf.dispose([s.inputIds, s.attentionMask, ...(s.logprobs ? [s.logprobs] : [])]);
  }
}

describe('rollout through serve', () => {
  const settings: RolloutSettings = {
    maxNewTokens: 10,
    temperature: 0.9,
    topP: 0.95,
    topK: 50,
    eosTokenId: 2,
    returnLogprobs: true,
  };

  it('equals the in-process rollout token for token (sampled k=2 + greedy, seeded)', async () => {
    const prompts = promptBatch(goldenGreedy(NAME).map((c) => c.prompt_ids));
    const local = rolloutGenerator(model, settings);
    const remote = openAIRolloutGenerator(
      { baseURL: `${server.url}/v1`, model: NAME, vocabSize: 32000 },
      settings,
    );
    const request = { samplesPerPrompt: 2, greedy: true, seed: 1234 };
    const a = await local(prompts, request);
    const b = await remote(prompts, request);
    try {
      expect(plain(b.sampled)).toEqual(plain(a.sampled));
      expect(plain(b.greedy as RolloutSequences)).toEqual(plain(a.greedy as RolloutSequences));
      // Same tokens from the same logits; float32 rounding of a differently composed batch only.
      const la = a.sampled.logprobs?.arraySync() as number[][];
      const lb = b.sampled.logprobs?.arraySync() as number[][];
      la.forEach((row, r) => {
        row.forEach((v, j) => {
          expect(lb[r]?.[j]).toBeCloseTo(v, 5);
        });
      });
    } finally {
      disposeRollout(a);
      disposeRollout(b);
      tf.dispose([prompts.inputIds, prompts.attentionMask]);
    }
  });

  it('a different seed gives a different rollout', async () => {
    const prompts = promptBatch(goldenGreedy(NAME).map((c) => c.prompt_ids));
    const remote = openAIRolloutGenerator({ baseURL: `${server.url}/v1`, model: NAME }, settings);
    const a = await remote(prompts, { samplesPerPrompt: 1, greedy: false, seed: 1 });
    const b = await remote(prompts, { samplesPerPrompt: 1, greedy: false, seed: 2 });
    try {
      expect(plain(a.sampled).inputIds).not.toEqual(plain(b.sampled).inputIds);
    } finally {
      disposeRollout(a);
      disposeRollout(b);
      tf.dispose([prompts.inputIds, prompts.attentionMask]);
    }
  });

  it('greedy through serve equals the golden continuations of the fixture', async () => {
    for (const c of goldenGreedy(NAME)) {
      const res = await fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: NAME,
          prompt: c.prompt_ids,
          temperature: 0,
          max_tokens: c.new_tokens.length,
          ignore_eos: true,
          return_token_ids: true,
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { choices: { token_ids: number[] }[] };
      const i = c.top2_margins.findIndex((m) => m < 1e-3);
      const n = i < 0 ? c.new_tokens.length : i + 1;
      expect(body.choices[0]?.token_ids.slice(0, n)).toEqual(c.new_tokens.slice(0, n));
    }
  });
});
