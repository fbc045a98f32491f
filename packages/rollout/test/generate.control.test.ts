// Control flow of `generate` on a scripted TEST DOUBLE (see fakeModel.ts).
import { initBackend, isRemaxError, tf } from '@remax/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate, rolloutGenerator, type TokenEvent } from '../src/index.js';
import { ScriptedFakeModel } from './fakeModel.js';

const EOS = 5;
const PAD = 0;
const nextToken = (prev: number) => (prev + 1) % 8;
const prompts = {
  inputIds: [
    [0, 7, 1],
    [3, 3, 3],
  ],
  attentionMask: [
    [0, 1, 1],
    [1, 1, 1],
  ],
};

async function expectRemaxError(p: Promise<unknown>, code: string): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(isRemaxError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

beforeAll(async () => {
  await initBackend();
});

describe('generate control flow (scripted test double)', () => {
  it('keeps EOS with mask 1, pads after it with mask 0, and stops once every row finished', async () => {
    const model = new ScriptedFakeModel(8, nextToken);
    const r = await generate(model, prompts, {
      maxNewTokens: 10,
      greedy: true,
      eosTokenId: EOS,
      padTokenId: PAD,
    });
    expect(r.newTokens).toBe(4);
    expect(r.responses).toEqual([
      [2, 3, 4, 5],
      [4, 5],
    ]);
    expect(r.responseLengths).toEqual([4, 2]);
    expect(r.finishReason).toEqual(['eos', 'eos']);
    expect(r.sequences.arraySync()).toEqual([
      [0, 7, 1, 2, 3, 4, 5],
      [3, 3, 3, 4, 5, PAD, PAD],
    ]);
    expect(r.attentionMask.arraySync()).toEqual([
      [0, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 0, 0],
    ]);
    // one prefill, then one cached single-token step per new token except the
    // last; row 1 leaves the cache once it finished
    expect(model.log).toEqual([
      'forward 2x3 mask 3 cached',
      'forward 2x1 mask 4 cached',
      'gather 0',
      'forward 1x1 mask 5 cached',
      'forward 1x1 mask 6 cached',
    ]);
    expect(model.caches.every((c) => c.disposed)).toBe(true);
    r.dispose();
  });

  it("reports 'length' when maxNewTokens runs out and EOS can be a list", async () => {
    const model = new ScriptedFakeModel(8, nextToken);
    const r = await generate(model, prompts, {
      maxNewTokens: 2,
      greedy: true,
      eosTokenId: [6, EOS],
    });
    expect(r.responses).toEqual([
      [2, 3],
      [4, 5],
    ]);
    expect(r.finishReason).toEqual(['length', 'eos']);
    r.dispose();
  });

  it('pairs mode: 2B rows, [0, B) sampled and [B, 2B) greedy, from one shared prefill', async () => {
    const model = new ScriptedFakeModel(8, nextToken);
    const events: TokenEvent[] = [];
    const r = await generate(model, prompts, {
      maxNewTokens: 3,
      temperature: 0.01,
      seed: 7,
      pairs: true,
      eosTokenId: EOS,
      padTokenId: PAD,
      returnLogprobs: true,
      onToken: (e) => {
        events.push(e);
      },
    });
    expect(r.rowKinds).toEqual(['sampled', 'sampled', 'greedy', 'greedy']);
    expect(r.rowPrompts).toEqual([0, 1, 0, 1]);
    expect(model.log[0]).toBe('forward 2x3 mask 3 cached'); // prefill on the B prompts only
    expect(model.log[1]).toBe('gather 0,1,0,1');
    expect(model.log[2]).toBe('forward 4x1 mask 4 cached');
    expect(model.log[3]).toBe('gather 0,2'); // rows 1 and 3 hit EOS at step 1
    expect(r.responses).toEqual([
      [2, 3, 4],
      [4, 5],
      [2, 3, 4],
      [4, 5],
    ]);
    expect(events.map((e) => e.tokens)).toEqual([
      [2, 4, 2, 4],
      [3, 5, 3, 5],
      [4, PAD, 4, PAD],
    ]);
    expect(events[2]?.active).toEqual([true, false, true, false]);
    // logprobs: sampled rows under the processed distribution (~0 at T = 0.01),
    // greedy rows under softmax(logits): 10 - log(e^10 + 7)
    const lp = (r.logprobs as tf.Tensor2D).arraySync();
    expect(lp[0]?.[0]).toBeCloseTo(0, 6);
    expect(lp[2]?.[0]).toBeCloseTo(10 - Math.log(Math.exp(10) + 7), 6);
    expect(lp[1]?.[2]).toBe(0); // after EOS
    r.dispose();
  });

  it('samplesPerPrompt k gives rows i*k+j with distinct streams', async () => {
    const model = new ScriptedFakeModel(8, () => 0); // flat except token 0: sampling at T=100 spreads
    const r = await generate(model, prompts, {
      maxNewTokens: 6,
      temperature: 100,
      seed: 3,
      samplesPerPrompt: 3,
      eosTokenId: [],
    });
    expect(r.rowPrompts).toEqual([0, 0, 0, 1, 1, 1]);
    expect(model.log[1]).toBe('gather 0,0,0,1,1,1');
    expect(new Set(r.responses.map((x) => x.join(','))).size).toBe(6);
    r.dispose();
  });

  it('the recompute path (no cache) runs the full sequence each step and gives the same tokens', async () => {
    const model = new ScriptedFakeModel(8, nextToken);
    const r = await generate(model, prompts, {
      maxNewTokens: 10,
      greedy: true,
      eosTokenId: EOS,
      useKVCache: false,
    });
    expect(model.log).toEqual([
      'forward 2x3 mask 3',
      'forward 2x4 mask 4',
      'forward 2x5 mask 5',
      'forward 2x6 mask 6',
    ]);
    expect(r.responses).toEqual([
      [2, 3, 4, 5],
      [4, 5],
    ]);
    r.dispose();
  });

  it('disposes the cache and creates no tensors that outlive the result', async () => {
    const model = new ScriptedFakeModel(8, nextToken);
    const opts = { maxNewTokens: 4, seed: 1, pairs: true, eosTokenId: EOS, returnLogprobs: true };
    (await generate(model, prompts, opts)).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) (await generate(model, prompts, opts)).dispose();
    expect(tf.memory().numTensors).toBe(before);
    // a consumer that throws mid-stream: the error passes through, nothing leaks
    const failing = generate(model, prompts, {
      ...opts,
      onToken: () => {
        throw new Error('consumer failed');
      },
    });
    await expect(failing).rejects.toThrow('consumer failed');
    expect(model.caches.every((c) => c.disposed)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('logitBias is added once to a prefill row that several rows of one prompt share', async () => {
    // prompt 0 ends in 1, so token 2 has logit 10: biased once by -6 it still wins (4 > 0);
    // added twice it would lose to token 0 (-2 < 0)
    const model = new ScriptedFakeModel(8, nextToken);
    const r = await generate(model, prompts, {
      maxNewTokens: 1,
      eosTokenId: EOS,
      rowPlan: [
        { prompt: 0, seed: null },
        { prompt: 0, seed: null },
        { prompt: 0, seed: 3 },
      ],
      logitBias: new Map([[2, -6]]),
      temperature: 0.01,
    });
    expect(r.responses.map((row) => row[0])).toEqual([2, 2, 2]);
    r.dispose();
  });

  it("returnLogprobs 'sampled': the same tokens, the sampled rows' logprobs, 0 on greedy rows", async () => {
    const model = new ScriptedFakeModel(8, nextToken);
    const opts = { maxNewTokens: 3, seed: 1, pairs: true, eosTokenId: EOS, temperature: 2 };
    const all = await generate(model, prompts, { ...opts, returnLogprobs: true });
    const sampledOnly = await generate(model, prompts, { ...opts, returnLogprobs: 'sampled' });
    expect(sampledOnly.responses).toEqual(all.responses);
    const a = all.logprobs?.arraySync() as number[][];
    const b = sampledOnly.logprobs?.arraySync() as number[][];
    expect(b.slice(0, 2)).toEqual(a.slice(0, 2));
    expect(
      b
        .slice(2)
        .flat()
        .every((v) => v === 0),
    ).toBe(true);
    expect(
      a
        .slice(2)
        .flat()
        .some((v) => v !== 0),
    ).toBe(true);
    all.dispose();
    sampledOnly.dispose();
  });

  it('rejects bad prompts and options with typed errors', async () => {
    const model = new ScriptedFakeModel(8, nextToken);
    const ok = { maxNewTokens: 2, seed: 1, eosTokenId: EOS };
    const rightPadded = { inputIds: [[1, 2, 0]], attentionMask: [[1, 1, 0]] };
    await expectRemaxError(generate(model, rightPadded, ok), 'E_INPUT');
    await expectRemaxError(
      generate(model, { inputIds: [[1]], attentionMask: [[0]] }, ok),
      'E_INPUT',
    );
    await expectRemaxError(
      generate(model, { inputIds: [[1, 2]], attentionMask: [[1, 1, 1]] }, ok),
      'E_SHAPE',
    );
    await expectRemaxError(
      generate(model, prompts, { maxNewTokens: 2, eosTokenId: EOS }),
      'E_INPUT',
    );
    await expectRemaxError(generate(model, prompts, { ...ok, topP: 1.5 }), 'E_INPUT');
    await expectRemaxError(generate(model, prompts, { ...ok, temperature: 0 }), 'E_INPUT');
    await expectRemaxError(
      generate(model, prompts, { ...ok, greedy: true, pairs: true }),
      'E_INPUT',
    );
    await expectRemaxError(generate(model, prompts, { ...ok, promptIndices: [1] }), 'E_INPUT');
  });
});

describe('rolloutGenerator (core GenerateFn adapter)', () => {
  it('splits one batched pass into sampled rows (i*k + j) and greedy rows', async () => {
    const model = new ScriptedFakeModel(8, nextToken);
    const generateFn = rolloutGenerator(model, {
      maxNewTokens: 3,
      temperature: 0.01,
      eosTokenId: EOS,
      padTokenId: PAD,
      returnLogprobs: true,
    });
    const before = tf.memory().numTensors;
    const batch = {
      inputIds: tf.tensor2d(prompts.inputIds, undefined, 'int32'),
      attentionMask: tf.tensor2d(prompts.attentionMask, undefined, 'int32'),
    };
    const rollout = await generateFn(batch, { samplesPerPrompt: 2, greedy: true, seed: 5 });
    expect(model.log[1]).toBe('gather 0,0,1,1,0,1');
    expect(rollout.sampled.inputIds.arraySync()).toEqual([
      [0, 7, 1, 2, 3, 4],
      [0, 7, 1, 2, 3, 4],
      [3, 3, 3, 4, 5, PAD],
      [3, 3, 3, 4, 5, PAD],
    ]);
    expect(rollout.sampled.responseLengths).toEqual([3, 3, 2, 2]);
    expect(rollout.sampled.promptLength).toBe(3);
    expect(rollout.sampled.logprobs?.shape).toEqual([4, 3]);
    expect(rollout.greedy?.attentionMask.arraySync()).toEqual([
      [0, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 0],
    ]);
    for (const part of [rollout.sampled, rollout.greedy]) {
      tf.dispose(
        [part?.inputIds, part?.attentionMask, part?.logprobs].filter((t) => t !== undefined),
      );
    }
    tf.dispose([batch.inputIds, batch.attentionMask]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("returnLogprobs 'sampled' leaves the greedy block without logprobs", async () => {
    const model = new ScriptedFakeModel(8, nextToken);
    const generateFn = rolloutGenerator(model, {
      maxNewTokens: 3,
      temperature: 0.01,
      eosTokenId: EOS,
      returnLogprobs: 'sampled',
    });
    const batch = {
      inputIds: tf.tensor2d(prompts.inputIds, undefined, 'int32'),
      attentionMask: tf.tensor2d(prompts.attentionMask, undefined, 'int32'),
    };
    const rollout = await generateFn(batch, { samplesPerPrompt: 1, greedy: true, seed: 5 });
    expect(rollout.sampled.logprobs?.shape).toEqual([2, 3]);
    expect(rollout.greedy?.logprobs).toBeUndefined();
    for (const part of [rollout.sampled, rollout.greedy]) {
      tf.dispose(
        [part?.inputIds, part?.attentionMask, part?.logprobs].filter((t) => t !== undefined),
      );
    }
    tf.dispose([batch.inputIds, batch.attentionMask]);
  });
});
