export {
  type FinishReason,
  type GenerateExtras,
  type GenerateResult,
  generate,
  type RowKind,
} from './generate.js';
export type { DecodingCache, DecodingModel } from './model.js';
export {
  type GenerateOptions,
  GenerateOptionsSchema,
  type ResolvedGenerateOptions,
  type TokenEvent,
} from './options.js';
export type { IntMatrix, PromptBatch } from './prompts.js';
export { type RolloutSettings, rolloutGenerator } from './rolloutGenerator.js';
export {
  type KeptTokens,
  type SamplingParams,
  type TokenChoice,
  TokenSampler,
} from './sampling.js';
