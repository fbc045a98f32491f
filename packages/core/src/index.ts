export type {
  Algorithm,
  AlgorithmContext,
  AlgorithmFactory,
  AlgorithmState,
  Experience,
  GenerateFn,
  RewardFn,
  Rollout,
  RolloutRequest,
  RolloutSequences,
  SequenceBatch,
  StepMetrics,
  ValueModel,
} from './algorithm.js';
export {
  type BackendInfo,
  type BackendOptions,
  type BackendPreference,
  backendInfo,
  initBackend,
} from './backend.js';
export {
  describeValue,
  isRemaxError,
  RemaxError,
  type RemaxErrorCode,
  type RemaxErrorDetails,
} from './errors.js';
export {
  type CustomOpResult,
  customOp,
  entropyFromLogits,
  fullKL,
  linear,
  logprobsFromLogits,
} from './ops/index.js';
export { Rng, type RngState } from './rng.js';
export { tf } from './tf.js';
export type { Policy, RewardModel, TokenBatch } from './types.js';
export { formatZodIssues, type ParseOptions, parseWith } from './zod.js';
