import { isRemaxError } from '@remax/core';
import { Tokenizer } from '@remax/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRewardInputs } from '../src/rewardInputs.js';
import { ultraRMPromptText } from '../src/ultraTemplate.js';
import { golden, LLAMA_TOKENIZER } from './helpers.js';

let llama: Tokenizer;
beforeAll(async () => {
  llama = await Tokenizer.fromFile(LLAMA_TOKENIZER);
});

function goldenConversations() {
  return golden.texts.map((text) => {
    const m = /^Human: ([\s\S]*)\nAssistant: ([\s\S]*)$/.exec(text);
    return {
      messages: [{ role: 'user' as const, content: m?.[1] ?? '' }],
      completion: m?.[2] ?? '',
    };
  });
}

function unpadded(ids: number[][], mask: number[][]): number[][] {
  return ids.map((row, b) => row.filter((_, t) => mask[b]?.[t] === 1));
}

describe('buildRewardInputs', () => {
  it('encodes the golden texts with BOS into exactly the golden ids', () => {
    const inputs = buildRewardInputs(goldenConversations(), llama, { maxLength: 4096 });
    expect(inputs.texts).toEqual(golden.texts);
    expect(inputs.inputIds).toEqual(
      unpadded(golden.right_padded.input_ids, golden.right_padded.attention_mask),
    );
    expect(inputs.truncatedRows).toEqual([]);
  });

  it('cuts only the prompt, from the left, keeping BOS and every completion token', () => {
    const conversations = goldenConversations();
    const full = buildRewardInputs(conversations, llama, { maxLength: 4096 }).inputIds;
    const maxLength = 30;
    const cut = buildRewardInputs(conversations, llama, { maxLength });
    expect(cut.truncatedRows).toEqual(full.flatMap((r, i) => (r.length > maxLength ? [i] : [])));
    expect(cut.truncatedRows.length).toBeGreaterThan(0);
    conversations.forEach((c, i) => {
      const row = cut.inputIds[i] ?? [];
      const whole = full[i] ?? [];
      if (!cut.truncatedRows.includes(i)) {
        expect(row).toEqual(whole);
        return;
      }
      expect(row.length).toBe(maxLength);
      expect(row[0]).toBe(llama.bosId);
      // the row is BOS + a suffix of the full encoding: the completion is whole
      expect(row.slice(1)).toEqual(whole.slice(whole.length - (maxLength - 1)));
      const completionIds = llama.encode(c.completion);
      expect(whole.slice(whole.length - completionIds.length)).toEqual(completionIds);
      expect(maxLength - 1).toBeGreaterThanOrEqual(completionIds.length);
    });
  });

  it('splits prompt and completion where the prompt encoding stops matching', () => {
    const [c] = goldenConversations();
    if (!c) throw new Error('no golden conversation');
    const whole = llama.encode(`${ultraRMPromptText(c.messages)} ${c.completion}`, {
      addBos: true,
    });
    const prompt = llama.encode(ultraRMPromptText(c.messages), { addBos: true });
    const completionTokens = whole.length - prompt.length;
    // one token of prompt left: BOS + last prompt token + completion
    const cut = buildRewardInputs([c], llama, { maxLength: completionTokens + 2 });
    expect(cut.inputIds[0]).toEqual([llama.bosId, ...whole.slice(prompt.length - 1)]);
  });

  it('refuses to cut a completion that alone does not fit', () => {
    const conversations = goldenConversations();
    let caught: unknown;
    try {
      buildRewardInputs(conversations, llama, { maxLength: 5 });
    } catch (e) {
      caught = e;
    }
    expect(isRemaxError(caught, 'E_INPUT')).toBe(true);
    expect(String(caught)).toContain('conversations[0].completion');
  });

  it('rejects a maxLength that is not a usable integer', () => {
    expect(() => buildRewardInputs([], llama, { maxLength: 1.5 })).toThrow(/maxLength/);
  });
});
