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
export { disposeBatch, microBatches, sliceRows } from './batches.js';
export {
  describeValue,
  isRemaxError,
  RemaxError,
  type RemaxErrorCode,
  type RemaxErrorDetails,
} from './errors.js';
export {
  type ChunkOptions,
  type CustomOpResult,
  customOp,
  entropyFromLogits,
  fullKL,
  hostView,
  type LMHead,
  linear,
  logprobsFromHidden,
  logprobsFromLogits,
  type NextTokenScores,
  NO_TARGET,
  nextTokenScores,
} from './ops/index.js';
export {
  type AccumulatedGrads,
  AdamW,
  type AdamWConfig,
  type AdamWMoments,
  type AdamWOptions,
  type AdamWState,
  accumulateGradients,
  adamWConfigSchema,
  type ClippedGrads,
  clipCoefficient,
  clipGradNorm,
  constantWithWarmup,
  cosineWithWarmup,
  GradientAccumulator,
  type GradReduction,
  globalGradNorm,
  gradsByName,
  linearWithWarmup,
  lrMultiplier,
  type OptimizerStepOptions,
  type OptimizerStepResult,
  optimizerStep,
  type ScheduleKind,
  type WarmupSchedule,
} from './optim/index.js';
export { Rng, type RngState } from './rng.js';
export { tokenFractionReward } from './simpleReward.js';
export {
  logprobMismatch,
  mean,
  PhaseClock,
  responseSums,
  responseTokenMean,
  std,
  TensorBytesWatermark,
  trainPhaseMetrics,
} from './stepMetrics.js';
export { tf } from './tf.js';
export type { Policy, RewardModel, TokenBatch } from './types.js';
export {
  type OptimizerSettings,
  optimizerFields,
  ParameterUpdater,
  requireTotalSteps,
  type UpdateResult,
} from './updater.js';
export { formatZodIssues, type ParseOptions, parseWith } from './zod.js';
