import { mkdtempSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, isRemaxError, tf } from '@remax/core';
import { openCheckpoint, type TensorEntry, writeSafetensors } from '@remax/safetensors';
import { Tokenizer } from '@remax/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRewardModel, makeRewardFn, type UltraRewardModel } from '../src/index.js';
import {
  golden,
  MISTRAL_TOKENIZER,
  type PaddedBatch,
  ULTRARM_DIR,
  ultraRMVariant,
} from './helpers.js';

const TOL = 1e-4;

function expectRewards(got: Float32Array, want: readonly number[]): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    expect(Math.abs((got[i] ?? Number.NaN) - w)).toBeLessThan(TOL);
  });
}

function batchOf(p: PaddedBatch) {
  return { inputIds: p.input_ids, attentionMask: p.attention_mask };
}

function goldenConversations() {
  return golden.texts.map((text) => {
    const m = /^Human: ([\s\S]*)\nAssistant: ([\s\S]*)$/.exec(text);
    return {
      messages: [{ role: 'user' as const, content: m?.[1] ?? '' }],
      completion: m?.[2] ?? '',
    };
  });
}

const models: UltraRewardModel[] = [];
let fromBin: UltraRewardModel;
let fromSafetensors: UltraRewardModel;

beforeAll(async () => {
  await initBackend();
  fromBin = await loadRewardModel(ultraRMVariant('bin'));
  fromSafetensors = await loadRewardModel(ultraRMVariant('safetensors'));
  models.push(fromBin, fromSafetensors);
});
afterAll(() => {
  for (const m of models) m.dispose();
});

describe('UltraRM golden rewards', () => {
  for (const format of ['bin', 'safetensors'] as const) {
    for (const padding of ['right_padded', 'left_padded'] as const) {
      it(`${format} weights, ${padding} batch: rewards within ${TOL}`, async () => {
        const model = format === 'bin' ? fromBin : fromSafetensors;
        expectRewards(await model.score(batchOf(golden[padding])), golden[padding].rewards);
      });
    }
  }

  it('accepts TokenBatch tensors', async () => {
    const inputIds = tf.tensor2d(golden.left_padded.input_ids, undefined, 'int32');
    const attentionMask = tf.tensor2d(golden.left_padded.attention_mask, undefined, 'int32');
    try {
      expectRewards(await fromBin.score({ inputIds, attentionMask }), golden.left_padded.rewards);
    } finally {
      inputIds.dispose();
      attentionMask.dispose();
    }
  });

  it('gives the same rewards, in input order, for every micro-batch size', async () => {
    const batch = batchOf(golden.right_padded);
    const saved = fromBin.microBatchSize;
    try {
      for (const size of [1, 2, 3, 16]) {
        fromBin.microBatchSize = size;
        expectRewards(await fromBin.score(batch), golden.right_padded.rewards);
      }
    } finally {
      fromBin.microBatchSize = saved;
    }
  });

  it('scores conversations: template + Llama ids + reward, nothing truncated', async () => {
    const scores = await fromSafetensors.scoreConversations(goldenConversations());
    expect(scores.texts).toEqual(golden.texts);
    expect(scores.truncated).toBe(0);
    expect(scores.lengths).toEqual(
      golden.right_padded.attention_mask.map((m) => m.reduce((a, b) => a + b, 0)),
    );
    expectRewards(scores.rewards, golden.right_padded.rewards);
  });

  it('reports how many rows were truncated to maxLength', async () => {
    const model = await loadRewardModel(ultraRMVariant('safetensors'), { maxLength: 30 });
    models.push(model);
    const scores = await model.scoreConversations(goldenConversations());
    expect(scores.truncated).toBe(1); // only the 58-token row is longer than 30
    expect(scores.truncatedRows).toEqual([2]);
    expect(scores.lengths[2]).toBe(30);
    // untouched rows keep their golden reward
    expectRewards(scores.rewards.slice(0, 2), golden.right_padded.rewards.slice(0, 2));
  });

  it('makeRewardFn: mistral-v1 policy ids (pads, EOS) -> the golden rewards', async () => {
    const mistral = await Tokenizer.fromFile(MISTRAL_TOKENIZER);
    const conversations = goldenConversations();
    const prompts = conversations.map((c) => mistral.encodeChat(c.messages, 'mistral-v1'));
    const responses = conversations.map((c) => [...mistral.encode(c.completion), mistral.eosId]);
    const P = Math.max(...prompts.map((p) => p.length));
    const R = Math.max(...responses.map((r) => r.length));
    const rows = prompts.map((p, b) => {
      const r = responses[b] ?? [];
      const ids = [...Array(P - p.length).fill(0), ...p, ...r, ...Array(R - r.length).fill(0)];
      const mask = ids.map((_, t) => (t >= P - p.length && t < P + r.length ? 1 : 0));
      return { ids, mask };
    });
    const inputIds = tf.tensor2d(
      rows.map((r) => r.ids),
      undefined,
      'int32',
    );
    const attentionMask = tf.tensor2d(
      rows.map((r) => r.mask),
      undefined,
      'int32',
    );
    const seen: number[] = [];
    const rewardFn = makeRewardFn(fromBin, mistral, (scores) => seen.push(scores.truncated));
    try {
      expectRewards(
        await rewardFn({ inputIds, attentionMask, promptLength: P }),
        golden.right_padded.rewards,
      );
      expect(seen).toEqual([0]);
    } finally {
      inputIds.dispose();
      attentionMask.dispose();
    }
  });

  it('rejects ids outside the vocabulary and malformed masks', async () => {
    await expect(
      fromBin.score({ inputIds: [[1, 32000]], attentionMask: [[1, 1]] }),
    ).rejects.toThrow(/vocabulary/);
    await expect(fromBin.score({ inputIds: [[1, 2]], attentionMask: [[1, 2]] })).rejects.toThrow(
      /0 and 1/,
    );
    await expect(fromBin.score({ inputIds: [[1, 2]], attentionMask: [[0, 0]] })).rejects.toThrow(
      /no real token/,
    );
  });

  it('does not leak tensors across calls', async () => {
    const batch = batchOf(golden.left_padded);
    await fromBin.score(batch);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await fromBin.score(batch);
      await fromBin.scoreConversations(goldenConversations());
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('loadRewardModel errors', () => {
  /** Writes a safetensors copy of tiny-ultrarm with the head dropped or replaced. */
  async function variantWithHead(head: TensorEntry | undefined): Promise<string> {
    const dir = ultraRMVariant('safetensors', ['config.json', 'tokenizer.model']);
    const source = await openCheckpoint(join(ULTRARM_DIR, 'model.safetensors'));
    const tensors = new Map<string, TensorEntry>();
    try {
      for (const name of source.names()) {
        if (name === 'regression_head.weight') continue;
        const info = source.info(name);
        tensors.set(name, {
          dtype: 'F32',
          shape: info.shape,
          data: await source.read(name, { as: 'float32' }),
        });
      }
    } finally {
      await source.close();
    }
    if (head) tensors.set('regression_head.weight', head);
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
    return dir;
  }

  async function errorOf(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (e) {
      return e;
    }
    return undefined;
  }

  it('a checkpoint without regression head: E_CHECKPOINT naming the tensor', async () => {
    const e = await errorOf(loadRewardModel(await variantWithHead(undefined)));
    expect(isRemaxError(e, 'E_CHECKPOINT')).toBe(true);
    expect(String(e)).toContain('regression_head.weight');
  });

  it('a head of the wrong shape: E_SHAPE with the shape found and expected', async () => {
    const head = { dtype: 'F32' as const, shape: [64, 1], data: new Float32Array(64) };
    const e = await errorOf(loadRewardModel(await variantWithHead(head)));
    expect(isRemaxError(e, 'E_SHAPE')).toBe(true);
    expect(String(e)).toContain('[64,1]');
    expect(String(e)).toContain('[1, 64]');
  });

  it('a directory without tokenizer: E_FILE', async () => {
    const dir = ultraRMVariant('safetensors');
    unlinkSync(join(dir, 'tokenizer.model'));
    const e = await errorOf(loadRewardModel(dir));
    expect(isRemaxError(e, 'E_FILE')).toBe(true);
    expect(String(e)).toContain('tokenizer');
  });

  it('bad options fail before loading: E_CONFIG', async () => {
    const dir = ultraRMVariant('safetensors');
    expect(
      isRemaxError(await errorOf(loadRewardModel(dir, { microBatchSize: 0 })), 'E_CONFIG'),
    ).toBe(true);
    expect(isRemaxError(await errorOf(loadRewardModel(dir, { maxLength: 1 })), 'E_CONFIG')).toBe(
      true,
    );
  });

  it('a directory without config.json: E_FILE', async () => {
    const e = await errorOf(loadRewardModel(mkdtempSync(join(tmpdir(), 'remax-empty-'))));
    expect(isRemaxError(e, 'E_FILE')).toBe(true);
  });
});
