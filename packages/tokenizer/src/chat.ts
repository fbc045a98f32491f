import { parseWith, RemaxError } from '@remax/core';
import { z } from 'zod';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/**
 * Chat formats encodeChat knows: `'mistral-v1'` (mistral-common's encoding, built
 * in), `'auto'` (the `chat_template` of the tokenizer's tokenizer_config.json), or a
 * Jinja template's text (`file` names it in errors).
 */
export type ChatTemplate = 'mistral-v1' | 'auto' | { jinja: string; file?: string };

export const messagesSchema = z
  .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }))
  .min(1);

interface TextEncoderLike {
  readonly bosId: number;
  readonly eosId: number;
  encode(text: string): number[];
}

/**
 * mistral-common's v1 instruct encoding (Mistral-7B-Instruct v0.1/v0.2):
 * `[BOS] + sp("[INST] " + user + " [/INST]") + sp(assistant) + [EOS]` per turn, each
 * piece encoded on its own (so each gets its own dummy-prefix space), contents used
 * verbatim.
 *
 * Roles: user and assistant alternate starting with user; a trailing assistant turn
 * (a finished conversation) is allowed. System messages, as in mistral-common
 * (InstructRequestNormalizer + InstructTokenizerV1): every non-empty system content
 * is joined with "\n\n" into one system prompt, which is prepended to the FIRST
 * user message as `system + "\n\n" + user`. Like mistral-common's validator, a
 * system message may come first or after a user message, not after an assistant.
 */
export function encodeMistralV1(
  tokenizer: TextEncoderLike,
  messages: readonly ChatMessage[],
): number[] {
  const parsed = parseWith(messagesSchema, messages, { what: 'chat messages', code: 'E_INPUT' });
  if (tokenizer.bosId < 0 || tokenizer.eosId < 0) {
    throw new RemaxError('E_TOKENIZER', 'mistral-v1 needs BOS and EOS tokens', {
      field: 'bosId/eosId',
    });
  }
  const system: string[] = [];
  const turns: ChatMessage[] = [];
  let previous: ChatRole | undefined;
  parsed.forEach((m, i) => {
    if (m.role === 'system') {
      if (previous === 'assistant') {
        throw new RemaxError('E_INPUT', 'a system message cannot follow an assistant message', {
          field: `messages[${i}].role`,
          value: m.role,
          expected: "'user' (mistral-v1 takes system messages before or after a user turn)",
        });
      }
      if (m.content.length > 0) system.push(m.content);
    } else {
      const expected: ChatRole = turns.length % 2 === 0 ? 'user' : 'assistant';
      if (m.role !== expected) {
        throw new RemaxError(
          'E_INPUT',
          'chat roles must alternate user/assistant, starting with user',
          {
            field: `messages[${i}].role`,
            value: m.role,
            expected: `'${expected}'`,
          },
        );
      }
      turns.push(m);
    }
    previous = m.role;
  });
  if (turns.length === 0) {
    throw new RemaxError('E_INPUT', 'a chat needs at least one user message', {
      field: 'messages',
      expected: 'a user message',
    });
  }
  const ids = [tokenizer.bosId];
  turns.forEach((m, i) => {
    if (m.role === 'user') {
      const content =
        i === 0 && system.length > 0 ? `${system.join('\n\n')}\n\n${m.content}` : m.content;
      ids.push(...tokenizer.encode(`[INST] ${content} [/INST]`));
    } else {
      ids.push(...tokenizer.encode(m.content), tokenizer.eosId);
    }
  });
  return ids;
}
