// The metric block every algorithm's makeExperience reports, so names and
// definitions stay the same across ReMax, PPO, GRPO, RLOO and REINFORCE++.
import type { RolloutSequences, StepMetrics } from '../algorithm.js';
import {
  logprobAbsDiff,
  mean,
  type PhaseClock,
  responseSums,
  responseTokenMean,
  std,
  type TensorBytesWatermark,
} from '../stepMetrics.js';

type Rows = readonly (readonly number[])[];

export interface ExperienceMetricsInput {
  /** Reward-model score of each sampled row. */
  reward: ArrayLike<number>;
  sampled: RolloutSequences;
  /** Training-side per-position numbers, [B, T-1]. */
  scores: {
    logprobs: Rows;
    actionMask: Rows;
    /** The KL penalty the algorithm applies per token (summed per sequence for `kl/penalty`). */
    kl?: Rows;
    /** Full-vocabulary KL per token (`kl/full`), when scored. */
    fullKl?: Rows;
    entropy?: Rows;
  };
  clock: PhaseClock;
  memory: TensorBytesWatermark;
  /** Every token the rollout generated (greedy rows included). */
  generatedTokens: number;
}

export function experienceMetrics(input: ExperienceMetricsInput): StepMetrics {
  const { reward, sampled, scores, clock, memory } = input;
  const start = sampled.promptLength - 1;
  const mask = scores.actionMask;
  const rolloutLogprobs = sampled.logprobs?.arraySync() as number[][] | undefined;
  const seconds = (phase: string) => clock.seconds[phase] ?? 0;
  return {
    'reward/mean': mean(reward),
    'reward/std': std(reward),
    ...(scores.kl && { 'kl/penalty': mean(responseSums(scores.kl, mask, start)) }),
    ...(scores.fullKl && { 'kl/full': mean(responseSums(scores.fullKl, mask, start)) }),
    'response/length_mean': mean(sampled.responseLengths),
    ...(scores.entropy && { 'policy/entropy': responseTokenMean(scores.entropy, mask, start) }),
    // only when the generator reports its log-probabilities
    ...(rolloutLogprobs &&
      mismatchMetrics(
        logprobAbsDiff(rolloutLogprobs, scores.logprobs, sampled.responseLengths, start),
      )),
    'time/rollout_s': seconds('rollout'),
    'time/reward_s': seconds('reward'),
    'time/score_s': seconds('score'),
    'throughput/rollout_tokens_per_s':
      input.generatedTokens / (clock.seconds['rollout'] ?? Number.NaN),
    'memory/experience_peak_tensor_bytes': memory.peak,
  };
}

/** The generator-vs-trainer logprob gap (policy/logprob_mismatch is the mean, kept for old runs). */
function mismatchMetrics(d: { mean: number; max: number }): StepMetrics {
  return {
    'policy/logprob_mismatch': d.mean,
    'rollout/logprob_abs_diff_mean': d.mean,
    'rollout/logprob_abs_diff_max': d.max,
  };
}
