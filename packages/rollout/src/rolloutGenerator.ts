import type { GenerateFn, Rollout, RolloutSequences, TokenBatch } from '@remax/core';
import { tf } from '@remax/core';
import { type GenerateResult, generate } from './generate.js';
import type { DecodingModel } from './model.js';
import { type GenerateOptions, logprobRows } from './options.js';

/** Decoding settings fixed for a training run; the algorithm supplies seed, k and greedy per rollout. */
export type RolloutSettings = Omit<
  GenerateOptions,
  'seed' | 'greedy' | 'pairs' | 'promptIndices' | 'onToken'
>;

/**
 * Adapts `generate` to @remax/core's `GenerateFn` (what algorithms call):
 * one batched pass per rollout, sampled rows (row i*k + j = sample j of
 * prompt i) and, when the request asks for it, one greedy row per prompt from
 * the same prefill. Both blocks have the same width P + R. The caller owns
 * the returned tensors.
 */
export function rolloutGenerator(model: DecodingModel, settings: RolloutSettings): GenerateFn {
  return async (prompts: TokenBatch, request): Promise<Rollout> => {
    const result = await generate(model, prompts, {
      ...settings,
      seed: request.seed,
      pairs: request.greedy,
      samplesPerPrompt: request.samplesPerPrompt,
    });
    try {
      const sampledRows = prompts.inputIds.shape[0] * request.samplesPerPrompt;
      const withLogprobs = logprobRows(settings.returnLogprobs);
      const sampled = rowsOf(result, 0, sampledRows, withLogprobs.sampled);
      if (!request.greedy) return { sampled };
      const greedyRows = result.rowKinds.length - sampledRows;
      return { sampled, greedy: rowsOf(result, sampledRows, greedyRows, withLogprobs.greedy) };
    } finally {
      result.dispose();
    }
  };
}

/** Rows [start, start + count) of a result as RolloutSequences (new tensors). */
function rowsOf(
  result: GenerateResult,
  start: number,
  count: number,
  withLogprobs: boolean,
): RolloutSequences {
  const slice = (t: tf.Tensor2D) => tf.slice(t, [start, 0], [count, t.shape[1]]);
  return {
    inputIds: slice(result.sequences),
    attentionMask: slice(result.attentionMask),
    promptLength: result.promptLength,
    responseLengths: result.responseLengths.slice(start, start + count),
    ...(result.logprobs && withLogprobs ? { logprobs: slice(result.logprobs) } : {}),
  };
}
