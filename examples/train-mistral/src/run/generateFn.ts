import type { GenerateFn, Rollout } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { type RolloutSettings, rolloutGenerator } from '@remax/rollout';
import type { RunConfig } from '../config/schema.js';

export interface GenerateStats {
  /** Tokens generated in the last call (all rows). */
  lastTokens: number;
  lastSeconds: number;
}

/** The run's decoding settings, the same for the local and the remote generator. */
export function rolloutSettings(config: RunConfig, eosTokenId: number): RolloutSettings {
  return {
    maxNewTokens: config.data.max_answer_seq,
    temperature: config.generation.temperature,
    topP: config.generation.top_p,
    topK: config.generation.top_k,
    eosTokenId,
    returnLogprobs: 'sampled', // the greedy rows' are read by nothing
  };
}

/**
 * The GenerateFn algorithms take: @remax/rollout's `rolloutGenerator` with the
 * run's decoding settings (one batched pass; ReMax's greedy rows share the
 * prompt prefill), timed for the progress bar's tokens/s.
 */
export function makeGenerateFn(
  policy: CausalLM,
  config: RunConfig,
  eosTokenId: number,
  stats: GenerateStats,
): GenerateFn {
  return timed(rolloutGenerator(policy, rolloutSettings(config, eosTokenId)), stats);
}

/** Times each rollout and counts its generated tokens (sampled + greedy rows). */
export function timed(generate: GenerateFn, stats: GenerateStats): GenerateFn {
  return async (prompts, request): Promise<Rollout> => {
    const t0 = performance.now();
    const rollout = await generate(prompts, request);
    const rows = [rollout.sampled, ...(rollout.greedy ? [rollout.greedy] : [])];
    stats.lastTokens = rows.flatMap((r) => r.responseLengths).reduce((a, b) => a + b, 0);
    stats.lastSeconds = (performance.now() - t0) / 1000;
    return rollout;
  };
}
