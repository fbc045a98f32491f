import { existsSync, readFileSync } from 'node:fs';
import { RemaxError, tf } from '@remax/core';
import { type ChatTemplate, padBatch, type Tokenizer } from '@remax/tokenizer';
import type { RunConfig } from '../config/schema.js';

/**
 * The chat template `data.chat_template` names: 'mistral-v1' (built in, the
 * card's format), 'auto' (the policy's tokenizer_config.json), or the text of a
 * .jinja file (its path already absolute, see loadRunConfig).
 */
export function chatTemplateOf(config: RunConfig): ChatTemplate {
  const t = config.data.chat_template;
  if (t === 'mistral-v1' || t === 'auto') return t;
  if (!existsSync(t)) {
    throw new RemaxError('E_FILE', 'chat template file not found', {
      file: t,
      field: 'data.chat_template',
      expected: 'auto | mistral-v1 | the path of a .jinja file',
    });
  }
  return { jinja: readFileSync(t, 'utf8'), file: t };
}

const PROBE = 'Hello [/INST] </s> world';
const checked = new WeakMap<Tokenizer, Set<string>>();

/**
 * The reward function reads the policy's prompts back as mistral-v1 (to
 * re-template them for UltraRM), so a template must give the same ids as
 * mistral-v1 does; checked once per tokenizer and template on a probe prompt.
 */
function checkRewardReadable(tokenizer: Tokenizer, template: ChatTemplate): void {
  if (template === 'mistral-v1') return;
  const key = template === 'auto' ? 'auto' : template.jinja;
  const seen = checked.get(tokenizer) ?? new Set<string>();
  if (seen.has(key)) return;
  const messages = [{ role: 'user' as const, content: PROBE }];
  const ids = tokenizer.encodeChat(messages, template, { addGenerationPrompt: true });
  const expected = tokenizer.encodeChat(messages, 'mistral-v1');
  if (ids.length !== expected.length || ids.some((id, i) => id !== expected[i])) {
    throw new RemaxError(
      'E_CONFIG',
      'the chat template does not encode prompts as mistral-v1 does',
      {
        field: 'data.chat_template',
        value: template === 'auto' ? 'auto' : (template.file ?? 'a Jinja template'),
        expected:
          "a template with mistral-common's v1 encoding (e.g. Mistral-7B-Instruct-v0.2's): the reward model reads the policy's prompts in that format",
      },
    );
  }
  seen.add(key);
  checked.set(tokenizer, seen);
}

/** Chat-templated prompt ids: `[BOS] [INST] prompt [/INST]` with mistral-v1, the card's format. */
export function promptIds(
  tokenizer: Tokenizer,
  prompt: string,
  template: ChatTemplate = 'mistral-v1',
): number[] {
  checkRewardReadable(tokenizer, template);
  return tokenizer.encodeChat([{ role: 'user', content: prompt }], template, {
    addGenerationPrompt: true,
  });
}

/** Left-padded int32 [B, P] ids and mask for a batch of prompts (the caller disposes). */
export function promptBatch(
  tokenizer: Tokenizer,
  prompts: readonly string[],
  template: ChatTemplate = 'mistral-v1',
): { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D } {
  const { inputIds, attentionMask } = padBatch(
    prompts.map((p) => promptIds(tokenizer, p, template)),
    { padId: tokenizer.eosId, padding: 'left' },
  );
  return {
    inputIds: tf.tensor2d(inputIds, undefined, 'int32'),
    attentionMask: tf.tensor2d(attentionMask, undefined, 'int32'),
  };
}
