import type { GenerateFn, Rollout, RolloutSequences } from '@remax/core';
import { tf } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { type GenerateResult, generate, type TokenEvent } from '@remax/rollout';
import type { RunConfig } from '../config/schema.js';

/** Rows [start, end) of a generate result as RolloutSequences (new tensors). */
function rowsOf(result: GenerateResult, start: number, end: number): RolloutSequences {
  const n = end - start;
  const width = result.sequences.shape[1];
  const slice = (t: tf.Tensor2D) => tf.slice(t, [start, 0], [n, t.shape[1]]);
  const out: RolloutSequences = {
    inputIds: slice(result.sequences),
    attentionMask: slice(result.attentionMask),
    promptLength: result.promptLength,
    responseLengths: result.responseLengths.slice(start, end),
  };
  if (result.logprobs) out.logprobs = slice(result.logprobs);
  if (out.inputIds.shape[1] !== width) throw new Error('unreachable: slice changed the width');
  return out;
}

export interface GenerateStats {
  /** Tokens generated in the last call (all rows). */
  lastTokens: number;
  lastSeconds: number;
}

/**
 * The GenerateFn algorithms take, wired to @remax/rollout: one batched pass
 * with sampled rows and (for ReMax) greedy rows sharing the prompt prefill.
 */
export function makeGenerateFn(
  policy: CausalLM,
  config: RunConfig,
  eosTokenId: number,
  stats: GenerateStats,
  onToken?: (event: TokenEvent) => void,
): GenerateFn {
  return async (prompts, request): Promise<Rollout> => {
    const t0 = performance.now();
    const result = await generate(policy, prompts, {
      maxNewTokens: config.data.max_answer_seq,
      temperature: config.generation.temperature,
      topP: config.generation.top_p,
      topK: config.generation.top_k,
      pairs: request.greedy,
      samplesPerPrompt: request.samplesPerPrompt,
      eosTokenId,
      seed: request.seed,
      returnLogprobs: true,
      ...(onToken ? { onToken } : {}),
    });
    try {
      const sampledRows = prompts.inputIds.shape[0] * request.samplesPerPrompt;
      const rollout: Rollout = { sampled: rowsOf(result, 0, sampledRows) };
      if (request.greedy) {
        rollout.greedy = rowsOf(result, sampledRows, result.sequences.shape[0]);
      }
      stats.lastTokens = result.responseLengths.reduce((a, b) => a + b, 0);
      stats.lastSeconds = (performance.now() - t0) / 1000;
      return rollout;
    } finally {
      result.dispose();
    }
  };
}
