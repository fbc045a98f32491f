// Loads fixtures/algo/grpo.json (an independent float64 PyTorch reference following
// TRL's GRPOTrainer). Every size (G, prompts, P) is read from the file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GroupBatchFixture } from '../../../test-support/goldenGradients.js';
import type { LossType, ScaleRewards } from '../src/config.js';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export interface GrpoVariant {
  scale_rewards: ScaleRewards;
  loss_type: LossType;
  beta: number;
  epsilon_low: number;
  epsilon_high: number;
  max_completion_length: number;
  group_mean: number[];
  std: number[];
  advantages: number[];
  loss: number;
  loss_zero_in_exact_arithmetic: boolean;
  grad_l2_norm: Record<string, number>;
  grad_total_l2_norm: number;
  grad_values: Record<string, number[] | number[][]>;
}

export interface ClipMath {
  mask: number[][];
  logprobs: number[][];
  old_logprobs: number[][];
  ref_logprobs: number[][];
  advantages: number[];
  beta: number;
  epsilon_low: number;
  epsilon_high: number;
  max_completion_length: number;
  clip_flags: Record<
    'high_clipped_pos_adv' | 'low_clipped_neg_adv' | 'outside_unclipped',
    number[][]
  >;
  cases: { loss_type: LossType; loss: number; dloss_dlogprobs: number[][] }[];
}

export interface GrpoFixture extends GroupBatchFixture {
  k3: number[][];
  variants: GrpoVariant[];
  clip_math: ClipMath;
}

export function loadGrpoFixture(): GrpoFixture {
  return JSON.parse(readFileSync(`${FIXTURES}algo/grpo.json`, 'utf8')) as GrpoFixture;
}

/** Options of grpoLoss named as the fixture's variant fields, in camelCase. */
export function optionsOf(v: GrpoVariant) {
  return {
    scaleRewards: v.scale_rewards,
    lossType: v.loss_type,
    beta: v.beta,
    epsilonLow: v.epsilon_low,
    epsilonHigh: v.epsilon_high,
    maxCompletionLength: v.max_completion_length,
  };
}

export const l2 = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));
export const relErr = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
