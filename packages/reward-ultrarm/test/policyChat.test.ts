import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRemaxError, tf } from '@remax/core';
import { Tokenizer } from '@remax/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../src/conversation.js';
import { conversationsFromPolicyTokens, parseMistralV1Prompt } from '../src/policyChat.js';
import { FIXTURES, MISTRAL_TOKENIZER } from './helpers.js';

interface ChatCase {
  messages: ChatMessage[];
  ids: number[];
}
const chatCases = readFileSync(join(FIXTURES, 'tokenizers/cases/mistral-v1-chat.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim().length > 0)
  .map((l) => JSON.parse(l) as ChatCase);

let mistral: Tokenizer;
beforeAll(async () => {
  mistral = await Tokenizer.fromFile(MISTRAL_TOKENIZER);
});

/** mistral-v1 prompt ids built the way mistral-common does (see fixtures README). */
function encodeV1(messages: ChatMessage[]): number[] {
  const ids = [mistral.bosId];
  for (const m of messages) {
    if (m.role === 'user') ids.push(...mistral.encode(`[INST] ${m.content} [/INST]`));
    else ids.push(...mistral.encode(m.content), mistral.eosId);
  }
  return ids;
}

/** A rollout-shaped batch: prompts left-padded to P, responses right-padded after EOS. */
function rollout(prompts: number[][], responses: number[][], pad = 0) {
  const P = Math.max(...prompts.map((p) => p.length));
  const R = Math.max(...responses.map((r) => r.length));
  const sequences = prompts.map((p, b) => {
    const r = responses[b] ?? [];
    return [
      ...new Array<number>(P - p.length).fill(pad),
      ...p,
      ...r,
      ...new Array<number>(R - r.length).fill(pad),
    ];
  });
  const attentionMask = prompts.map((p, b) => {
    const r = responses[b] ?? [];
    return [
      ...new Array<number>(P - p.length).fill(0),
      ...new Array<number>(p.length).fill(1),
      ...new Array<number>(r.length).fill(1),
      ...new Array<number>(R - r.length).fill(0),
    ];
  });
  return { sequences, attentionMask, promptLength: P };
}

describe('mistral-v1 prompt ids back to messages', () => {
  it('parses every fixture chat case back into its messages', () => {
    for (const c of chatCases) {
      expect(encodeV1(c.messages)).toEqual(c.ids); // our builder agrees with mistral-common
      expect(parseMistralV1Prompt(c.ids, mistral)).toEqual(c.messages);
    }
  });

  it('picks the split whose re-encoding gives back the ids when "[/INST]" is inside a turn', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'What does [/INST]x mean here?' },
      { role: 'assistant', content: 'It closes [/INST] an instruction.' },
      { role: 'user', content: 'And [INST]?' },
    ];
    expect(parseMistralV1Prompt(encodeV1(messages), mistral)).toEqual(messages);
  });

  it('splits a turn at the first " [/INST]" when the ids cannot tell (documented)', () => {
    // "a [/INST] b" + "c" and "a" + "b [/INST] c" encode to the same ids
    const messages: ChatMessage[] = [
      { role: 'user', content: 'a [/INST] b' },
      { role: 'assistant', content: 'c' },
      { role: 'user', content: 'd' },
    ];
    expect(parseMistralV1Prompt(encodeV1(messages), mistral)).toEqual([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b [/INST] c' },
      { role: 'user', content: 'd' },
    ]);
  });

  it('rejects ids that are not a mistral-v1 prompt, naming the row', () => {
    for (const text of ['Hello there', '[INST] no closing tag']) {
      let caught: unknown;
      try {
        parseMistralV1Prompt([mistral.bosId, ...mistral.encode(text)], mistral, 3);
      } catch (e) {
        caught = e;
      }
      expect(isRemaxError(caught, 'E_FORMAT')).toBe(true);
      expect(String(caught)).toContain('row 3');
    }
  });
});

describe('conversationsFromPolicyTokens', () => {
  const completions = [
    'Lemon juice, always.',
    'Here is one: mix egg yolk and oil.\n\nDone!',
    '好的',
  ];

  it('recovers prompts and completions from a padded rollout (EOS, pads, no EOS)', () => {
    const prompts = chatCases.slice(0, 3).map((c) => c.ids);
    const responses = completions.map((text, b) => [
      ...mistral.encode(text),
      ...(b === 2 ? [] : [mistral.eosId]), // row 2 hit the length cap: no EOS
    ]);
    const batch = rollout(prompts, responses);
    const conversations = conversationsFromPolicyTokens(batch, mistral);
    conversations.forEach((c, b) => {
      expect(c.messages).toEqual(chatCases[b]?.messages);
      expect(c.completion).toBe(completions[b]);
    });
  });

  it('accepts tensors as well as arrays', () => {
    const batch = rollout(
      [chatCases[0]?.ids ?? []],
      [[...mistral.encode(completions[0] ?? ''), mistral.eosId]],
    );
    const sequences = tf.tensor2d(batch.sequences, undefined, 'int32');
    const attentionMask = tf.tensor2d(batch.attentionMask, undefined, 'int32');
    try {
      const fromTensors = conversationsFromPolicyTokens(
        { sequences, attentionMask, promptLength: batch.promptLength },
        mistral,
      );
      expect(fromTensors).toEqual(conversationsFromPolicyTokens(batch, mistral));
    } finally {
      sequences.dispose();
      attentionMask.dispose();
    }
  });

  it('ignores what follows the first EOS of a response', () => {
    const batch = rollout(
      [chatCases[0]?.ids ?? []],
      [[...mistral.encode('Yes.'), mistral.eosId, ...mistral.encode('junk')]],
    );
    expect(conversationsFromPolicyTokens(batch, mistral)[0]?.completion).toBe('Yes.');
  });

  it('rejects a promptLength outside the sequences', () => {
    const batch = rollout([chatCases[0]?.ids ?? []], [[mistral.eosId]]);
    expect(() => conversationsFromPolicyTokens({ ...batch, promptLength: 0 }, mistral)).toThrow(
      /promptLength/,
    );
  });
});
