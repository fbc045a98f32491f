export { algorithms } from './algorithms.js';
export {
  assertInputsExist,
  type ConfigOverrides,
  defaultConfigPath,
  type LoadedConfig,
  loadRunConfig,
  packageRoot,
  type RequiredInput,
} from './config/load.js';
export { configKeyPaths, resolveKey } from './config/overrides.js';
export { type ConfigChange, resumeConfig } from './config/resume.js';
export {
  type FiltersConfig,
  type RunConfig,
  runConfigSchema,
} from './config/schema.js';
export { readLmsysParquet, writeLmsysParquet } from './data/lmsysParquet.js';
export type { LmsysMessage, LmsysModeration, LmsysRow } from './data/lmsysSchema.js';
export {
  firstUserTurn,
  type PreparedPrompt,
  readPromptSource,
  type SelectionStats,
  type SourcedPrompt,
  selectPrompts,
  toJsonl,
} from './data/prepare.js';
export { type Architecture, architectureOf, parameterCount } from './plan/architecture.js';
export {
  type MemoryInputs,
  type MemoryModel,
  policyOnlyMemory,
  trainedCriticMemory,
} from './plan/memoryModel.js';
export { formatPlan, type Plan, type PlanRow, planRun } from './plan/plan.js';
export {
  type AlgorithmSpec,
  defineAlgorithm,
  type RegisteredAlgorithm,
  type SharedSettings,
} from './registry/defineAlgorithm.js';
export { describeShape, type GenerationShape, responsesPerPrompt } from './registry/generation.js';
export {
  type AlgoName,
  algoNames,
  algorithmNamed,
  createAlgorithm,
  generationShape,
  parseAlgoList,
  sharedSettings,
} from './registry/lookup.js';
export { lineChartSpec, renderSvg, svgToPng } from './report/charts.js';
export { chartsFor, type ReportInput, type RunSeries, writeReport } from './report/report.js';
export {
  findResumePoint,
  listCheckpoints,
  type ResumePoint,
  readTrainerState,
  type TrainerState,
} from './run/checkpoint.js';
export { nodeIo, type RunIo } from './run/durableWrite.js';
export { generationConfig, hfTrainerState, modelCard } from './run/hfFiles.js';
export { appendMetrics, readMetrics, type StepRecord } from './run/metrics.js';
export { holdsRun } from './run/runDirectory.js';
export { type TrainOptions, type TrainResult, train } from './run/train.js';
