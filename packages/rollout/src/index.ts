export {
  type FinishReason,
  type GenerateExtras,
  type GenerateResult,
  generate,
  type RowKind,
} from './generate.js';
export type { DecodingCache, DecodingModel } from './model.js';
export { type CompletionRow, readCompletion } from './openai/completionAnswer.js';
export {
  completionBody,
  type OpenAIEndpoint,
  openAIRolloutGenerator,
} from './openai/openAIRolloutGenerator.js';
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
export { promptSeed, sampleRng, sequenceRng } from './seeds.js';
export { DecodeBatcher, type DecodedRow, type DecodeJob } from './serve/batcher.js';
export type { ServedModel, ServeTokenizer } from './serve/completions.js';
export {
  type CompletionRequest,
  CompletionRequestSchema,
  type ErrorBody,
  SERVE_LIMITS,
} from './serve/protocol.js';
export { type ServableLM, servedCausalLM } from './serve/servedModel.js';
export {
  type AdapterLoader,
  type RunningServer,
  type ServedClassifier,
  type ServeOptions,
  startServer,
} from './serve/server.js';
