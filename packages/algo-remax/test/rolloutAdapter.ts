// Wires @remax/rollout's generate (pairs mode) into @remax/core's GenerateFn,
// as the example does: rows [0, B) are sampled, rows [B, 2B) greedy.
import { type GenerateFn, type RolloutSequences, tf } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { generate } from '@remax/rollout';

export function rolloutGenerateFn(
  policy: CausalLM,
  options: { maxNewTokens: number; temperature: number; eosTokenId: number },
): GenerateFn {
  return async (prompts, request) => {
    const out = await generate(policy, prompts, {
      ...options,
      pairs: request.greedy,
      samplesPerPrompt: request.samplesPerPrompt,
      seed: request.seed,
      returnLogprobs: true,
    });
    try {
      const n = request.samplesPerPrompt * prompts.inputIds.shape[0];
      const rows = (s: number, e: number): RolloutSequences => {
        const W = out.sequences.shape[1];
        return {
          inputIds: tf.slice(out.sequences, [s, 0], [e - s, W]),
          attentionMask: tf.slice(out.attentionMask, [s, 0], [e - s, W]),
          promptLength: out.promptLength,
          responseLengths: out.responseLengths.slice(s, e),
          ...(out.logprobs
            ? { logprobs: tf.slice(out.logprobs, [s, 0], [e - s, out.logprobs.shape[1]]) }
            : {}),
        };
      };
      const sampled = rows(0, n);
      return request.greedy ? { sampled, greedy: rows(n, out.sequences.shape[0]) } : { sampled };
    } finally {
      out.dispose();
    }
  };
}
