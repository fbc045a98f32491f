import type { StepMetrics } from '@remax/core';

/**
 * Where each algorithm reports the headline numbers (first present wins).
 * Missing means the algorithm does not measure it (PPO has no greedy reward):
 * the record says null rather than inventing a value.
 */
const KEYS = {
  reward: ['reward/mean'],
  greedy_reward: ['reward/greedy_mean'],
  // full-vocabulary KL(policy || reference) summed over the response, mean over sequences
  kl: ['kl/full', 'kl/penalty'],
  response_length: ['response/length_mean'],
  lr: ['optim/lr'],
  tokens_per_s: ['throughput/rollout_tokens_per_s'],
} as const;

function pick(metrics: StepMetrics, keys: readonly string[]): number | null {
  for (const k of keys) {
    const v = metrics[k];
    if (typeof v === 'number') return v;
  }
  return null;
}

export function headlineMetrics(metrics: StepMetrics): {
  reward: number | null;
  greedy_reward: number | null;
  kl: number | null;
  response_length: number | null;
  lr: number | null;
  rollout_tokens_per_s: number | null;
} {
  return {
    reward: pick(metrics, KEYS.reward),
    greedy_reward: pick(metrics, KEYS.greedy_reward),
    kl: pick(metrics, KEYS.kl),
    response_length: pick(metrics, KEYS.response_length),
    lr: pick(metrics, KEYS.lr),
    rollout_tokens_per_s: pick(metrics, KEYS.tokens_per_s),
  };
}
