export {
  type AccumulatedGrads,
  accumulateGradients,
  GradientAccumulator,
  type GradReduction,
  gradsByName,
} from './accumulate.js';
export {
  AdamW,
  type AdamWConfig,
  type AdamWMoments,
  type AdamWOptions,
  type AdamWState,
  adamWConfigSchema,
} from './adamw.js';
export { type ClippedGrads, clipCoefficient, clipGradNorm, globalGradNorm } from './clip.js';
export {
  constantWithWarmup,
  cosineWithWarmup,
  linearWithWarmup,
  lrMultiplier,
  type ScheduleKind,
  type WarmupSchedule,
} from './schedules.js';
export { type OptimizerStepOptions, type OptimizerStepResult, optimizerStep } from './step.js';
