import { RemaxError } from '@remax/core';
import type { ChatMessage, Conversation } from './conversation.js';
import type { TextTokenizer } from './textTokenizer.js';
import { checkIdsAndMask, type IntMatrix, realTokens, toRows } from './tokenRows.js';

/** A policy rollout: left-padded prompts of width `promptLength`, then responses. */
export interface PolicySequences {
  /** [B, P + R] policy token ids. */
  sequences: IntMatrix;
  /** [B, P + R]: 1 on real prompt and response tokens (EOS included), 0 on pads. */
  attentionMask: IntMatrix;
  /** P: the prompt width; the response starts at this column. */
  promptLength: number;
}

const OPEN = '[INST] ';
const CLOSE = ' [/INST]';

/**
 * Turns policy token ids (mistral-v1 chat prompt + generated response) back into
 * conversations by decoding with the POLICY tokenizer, ready for
 * `scoreConversations` (which re-encodes them with the reward model's tokenizer).
 *
 * The prompt is parsed as mistral-common's v1 instruct encoding:
 * `[BOS] "[INST] u1 [/INST]" a1 [EOS] "[INST] u2 [/INST]" ...`, i.e. EOS ends each
 * assistant turn and each turn is decoded on its own. When "[/INST]" also occurs
 * inside a turn's text, the first split whose re-encoding gives back exactly the
 * turn's ids is taken (when several do, the ids themselves cannot tell, and the
 * user message ends at the first " [/INST]"). The response is cut at its first
 * EOS (EOS and pads are not text).
 * A prompt that is not in this format gets a typed E_FORMAT error naming the row.
 */
export function conversationsFromPolicyTokens(
  batch: PolicySequences,
  policyTokenizer: TextTokenizer,
): Conversation[] {
  const ids = toRows(batch.sequences);
  const mask = toRows(batch.attentionMask);
  checkIdsAndMask(ids, mask);
  const width = ids[0]?.length ?? 0;
  const { promptLength } = batch;
  if (!Number.isInteger(promptLength) || promptLength < 1 || promptLength > width) {
    throw new RemaxError('E_INPUT', 'promptLength must lie inside the sequences', {
      field: 'promptLength',
      value: promptLength,
      expected: `an integer in [1, ${width}]`,
    });
  }
  const { eosId } = policyTokenizer;
  return ids.map((row, b) => {
    const m = mask[b] ?? [];
    const prompt = realTokens(row.slice(0, promptLength), m.slice(0, promptLength));
    const response = realTokens(row.slice(promptLength), m.slice(promptLength));
    const eosAt = response.indexOf(eosId);
    const completionIds = eosAt >= 0 ? response.slice(0, eosAt) : response;
    return {
      messages: parseMistralV1Prompt(prompt, policyTokenizer, b),
      completion: policyTokenizer.decode(completionIds, { skipSpecialTokens: true }),
    };
  });
}

/** Parses one row's prompt ids (no pads) in the mistral-v1 format back into messages. */
export function parseMistralV1Prompt(
  promptIds: readonly number[],
  tokenizer: TextTokenizer,
  row = 0,
): ChatMessage[] {
  const body = promptIds[0] === tokenizer.bosId ? promptIds.slice(1) : promptIds.slice();
  const segments: number[][] = [[]];
  for (const id of body) {
    if (id === tokenizer.eosId) segments.push([]);
    else segments[segments.length - 1]?.push(id);
  }
  const messages: ChatMessage[] = [];
  segments.forEach((segment, s) => {
    const last = s === segments.length - 1;
    const text = tokenizer.decode(segment, { skipSpecialTokens: true });
    const fail = (why: string): never => {
      throw new RemaxError('E_FORMAT', `prompt is not in the mistral-v1 chat format: ${why}`, {
        field: `row ${row}, turn ${s}`,
        value: text,
        expected: '[BOS] "[INST] user [/INST]" assistant [EOS] ... "[INST] user [/INST]"',
      });
    };
    if (!text.startsWith(OPEN)) fail('a turn does not start with "[INST] "');
    if (last) {
      if (!text.endsWith(CLOSE) || text.length < OPEN.length + CLOSE.length - 1) {
        fail('the last turn does not end with " [/INST]"');
      }
      messages.push({ role: 'user', content: text.slice(OPEN.length, text.length - CLOSE.length) });
      return;
    }
    const split = splitTurn(text, segment, tokenizer);
    if (split === undefined) fail('cannot find where the user message ends (" [/INST]")');
    else
      messages.push(
        { role: 'user', content: split.user },
        { role: 'assistant', content: split.assistant },
      );
  });
  return messages;
}

/**
 * Splits "[INST] user [/INST] assistant" at the first " [/INST]" whose
 * re-encoding reproduces the ids; a single candidate is taken as is.
 */
function splitTurn(
  text: string,
  ids: readonly number[],
  tokenizer: TextTokenizer,
): { user: string; assistant: string } | undefined {
  const candidates: { user: string; assistant: string }[] = [];
  for (let at = text.indexOf(CLOSE, OPEN.length - 1); at >= 0; at = text.indexOf(CLOSE, at + 1)) {
    const rest = text.slice(at + CLOSE.length);
    // sp(assistant) starts with the dummy-prefix space that decoding turns into " "
    const assistant = rest.startsWith(' ') ? rest.slice(1) : rest;
    candidates.push({ user: text.slice(OPEN.length, at), assistant });
  }
  if (candidates.length <= 1) return candidates[0];
  return candidates.find((c) => {
    const again = [...tokenizer.encode(OPEN + c.user + CLOSE), ...tokenizer.encode(c.assistant)];
    return again.length === ids.length && again.every((id, i) => id === ids[i]);
  });
}

/** `conversationsFromPolicyTokens` of a rollout batch as RewardFn receives it. */
export function conversationsOfBatch(
  batch: { inputIds: IntMatrix; attentionMask: IntMatrix; promptLength: number },
  policyTokenizer: TextTokenizer,
): Conversation[] {
  return conversationsFromPolicyTokens(
    {
      sequences: batch.inputIds,
      attentionMask: batch.attentionMask,
      promptLength: batch.promptLength,
    },
    policyTokenizer,
  );
}
