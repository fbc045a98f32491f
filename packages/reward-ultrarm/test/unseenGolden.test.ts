// The unseen fixture set (fixtures/unseen/unseen-ultrarm: other seed, hidden
// 48, .bin shards written by torch 2.11's torch.save, new texts with accents,
// tabs and newlines), end to end: weights of each format + the Llama
// tokenizer -> template -> ids -> rewards, against its float64 golden.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@remax/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRewardModel } from '../src/index.js';
import { FIXTURES, readJson, type UltraGolden } from './helpers.js';

const DIR = join(FIXTURES, 'unseen/unseen-ultrarm');
const golden = readJson<UltraGolden>(join(DIR, 'golden.json'));
const WEIGHTS = {
  bin: [
    'pytorch_model.bin.index.json',
    'pytorch_model-00001-of-00002.bin',
    'pytorch_model-00002-of-00002.bin',
  ],
  safetensors: ['model.safetensors'],
};

/** A folder with one weight format, config.json and the Llama tokenizer. */
function variant(format: keyof typeof WEIGHTS): string {
  const dir = mkdtempSync(join(tmpdir(), `remax-unseen-ultrarm-${format}-`));
  for (const f of ['config.json', ...WEIGHTS[format]]) copyFileSync(join(DIR, f), join(dir, f));
  copyFileSync(join(FIXTURES, 'tokenizers/llama.model'), join(dir, 'tokenizer.model'));
  return dir;
}

function conversations() {
  return golden.texts.map((text) => {
    const m = /^Human: ([\s\S]*)\nAssistant: ([\s\S]*)$/.exec(text);
    if (!m) throw new Error(`golden text not in the template: ${text}`);
    return { messages: [{ role: 'user' as const, content: m[1] ?? '' }], completion: m[2] ?? '' };
  });
}

beforeAll(async () => {
  await initBackend();
});

describe.each(['bin', 'safetensors'] as const)('unseen-ultrarm from %s weights', (format) => {
  it('texts -> ids -> rewards equal the golden ones; both paddings score the same', async () => {
    const dir = variant(format);
    const model = await loadRewardModel(dir);
    try {
      const scores = await model.scoreConversations(conversations());
      expect(scores.texts).toEqual(golden.texts);
      expect(scores.lengths).toEqual(
        golden.right_padded.attention_mask.map((m) => m.reduce((a, b) => a + b, 0)),
      );
      for (const [i, want] of golden.right_padded.rewards.entries()) {
        expect(Math.abs((scores.rewards[i] ?? Number.NaN) - want)).toBeLessThan(1e-4);
      }
      for (const padding of ['right_padded', 'left_padded'] as const) {
        const got = await model.score({
          inputIds: golden[padding].input_ids,
          attentionMask: golden[padding].attention_mask,
        });
        golden[padding].rewards.forEach((want, i) => {
          expect(Math.abs((got[i] ?? Number.NaN) - want)).toBeLessThan(1e-4);
        });
      }
    } finally {
      model.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
