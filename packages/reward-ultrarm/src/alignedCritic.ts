// PPO's critic when the policy and the reward model speak different tokenizers
// (Mistral-7B-Instruct policy, UltraRM-13b = Llama 2 critic). Feeding policy ids
// to the critic would run without error and mean nothing, so the critic reads the
// UltraRM text in its own tokenizer and each policy position takes the value of
// the last critic token whose text lies inside the policy's text prefix.
import { RemaxError, type SequenceBatch, type TokenBatch, tf, type ValueModel } from '@remax/core';
import { conversationsFromPolicyTokens } from './policyChat.js';
import type { TextTokenizer } from './textTokenizer.js';
import { realTokens, toRows } from './tokenRows.js';
import { ultraRMPromptText } from './ultraTemplate.js';

export interface CriticAlignment {
  /** Critic ids per row (BOS first), right-padded by the caller. */
  criticIds: number[][];
  /** For each policy column c, the critic position whose value stands for it, [B, T]. */
  positions: number[][];
}

/**
 * Maps a policy batch to critic inputs. Policy column c >= P-1 stands for the
 * text "prompt + response tokens P..c" (column P-1: the prompt alone); it takes the
 * last critic token that ends inside that text. Columns before P-1 map to BOS and
 * columns after the response to its last token: PPO never reads them (its losses
 * start at P-1 and values are zeroed after each response).
 */
export function alignToCritic(
  batch: SequenceBatch,
  policyTokenizer: TextTokenizer,
  criticTokenizer: TextTokenizer,
): CriticAlignment {
  const ids = toRows(batch.inputIds);
  const mask = toRows(batch.attentionMask);
  const P = batch.promptLength;
  const conversations = conversationsFromPolicyTokens(
    { sequences: ids, attentionMask: mask, promptLength: P },
    policyTokenizer,
  );
  const criticIds: number[][] = [];
  const positions = ids.map((row, b) => {
    const conversation = conversations[b] as (typeof conversations)[number];
    const promptText = ultraRMPromptText(conversation.messages);
    const text = `${promptText} ${conversation.completion}`;
    const critic = criticTokenizer.encode(text, { addBos: true });
    criticIds.push(critic);
    // charEnd[i]: length of the text critic tokens 1..i decode to (BOS is no text)
    const charEnd = critic.map((_, i) => criticTokenizer.decode(critic.slice(1, i + 1)).length);
    const lastWithin = (length: number) => {
      let lo = 0;
      let hi = critic.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((charEnd[mid] as number) <= length) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const response = realTokens(row.slice(P), (mask[b] ?? []).slice(P));
    const out = new Array<number>(row.length).fill(0);
    const eos = policyTokenizer.eosId;
    for (let c = P - 1; c < row.length; c++) {
      const k = Math.min(c - P + 1, response.length);
      const prefix = response.slice(0, k).filter((id) => id !== eos);
      const completion = policyTokenizer.decode(prefix, { skipSpecialTokens: true });
      const length = k === 0 ? promptText.length : promptText.length + 1 + completion.length;
      out[c] = lastWithin(length);
    }
    return out;
  });
  return { criticIds, positions };
}

/**
 * A ValueModel over POLICY token batches for a critic that reads its own
 * tokenizer: values [B, T] at policy positions, differentiable w.r.t. the
 * critic's parameters. Batches must carry `promptLength` (a SequenceBatch).
 * Critic sequences longer than `maxLength` get a typed error (no silent cut).
 */
export function tokenAlignedCritic(
  critic: ValueModel,
  tokenizers: { policy: TextTokenizer; critic: TextTokenizer },
  options: { maxLength: number; padId?: number },
): ValueModel {
  return {
    parameters: () => critic.parameters(),
    values(batch: TokenBatch): tf.Tensor2D {
      const promptLength = (batch as Partial<SequenceBatch>).promptLength;
      if (typeof promptLength !== 'number') {
        throw new RemaxError('E_INPUT', 'the token-aligned critic needs the batch promptLength', {
          field: 'promptLength',
          expected: 'a SequenceBatch (prompt width P)',
        });
      }
      const { criticIds, positions } = alignToCritic(
        { ...batch, promptLength },
        tokenizers.policy,
        tokenizers.critic,
      );
      const width = Math.max(...criticIds.map((r) => r.length));
      if (width > options.maxLength) {
        throw new RemaxError('E_INPUT', 'critic sequence longer than the critic maxLength', {
          field: 'maxLength',
          value: width,
          expected: `at most ${options.maxLength} critic tokens (raise maxLength or shorten max_answer_seq)`,
        });
      }
      const pad = options.padId ?? 0;
      const inputIds = criticIds.map((r) => [
        ...r,
        ...new Array<number>(width - r.length).fill(pad),
      ]);
      const attentionMask = criticIds.map((r) =>
        r.map(() => 1).concat(new Array<number>(width - r.length).fill(0)),
      );
      return tf.tidy(() => {
        const ids = tf.tensor2d(inputIds, undefined, 'int32');
        const m = tf.tensor2d(attentionMask, undefined, 'int32');
        const values = critic.values({ inputIds: ids, attentionMask: m }); // [B, Tc]
        const [B, Tc] = values.shape;
        const flatIndex = positions.flatMap((row, b) => row.map((p) => b * Tc + p));
        const picked = tf.gather(tf.reshape(values, [B * Tc]), tf.tensor1d(flatIndex, 'int32'));
        return tf.reshape(picked, [B, positions[0]?.length ?? 0]) as tf.Tensor2D; // [B, T]
      });
    },
  };
}
