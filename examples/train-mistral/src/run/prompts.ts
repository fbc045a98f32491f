import { tf } from '@remax/core';
import { padBatch, type Tokenizer } from '@remax/tokenizer';

/** Chat-templated prompt ids: `[BOS] [INST] prompt [/INST]` (mistral-v1, the card's format). */
export function promptIds(tokenizer: Tokenizer, prompt: string): number[] {
  return tokenizer.encodeChat([{ role: 'user', content: prompt }], 'mistral-v1');
}

/** Left-padded int32 [B, P] ids and mask for a batch of prompts (the caller disposes). */
export function promptBatch(
  tokenizer: Tokenizer,
  prompts: readonly string[],
): { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D } {
  const { inputIds, attentionMask } = padBatch(
    prompts.map((p) => promptIds(tokenizer, p)),
    { padId: tokenizer.eosId, padding: 'left' },
  );
  return {
    inputIds: tf.tensor2d(inputIds, undefined, 'int32'),
    attentionMask: tf.tensor2d(attentionMask, undefined, 'int32'),
  };
}
