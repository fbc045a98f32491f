// Loads fixtures/algo/remax-e2e.json (an independent float64 PyTorch reference).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export interface RemaxVariant {
  kl_penalty: 'full_step' | 'sampled';
  kl_ctl: number;
  reward_clip: number;
  gamma: number;
  returns: number[][];
  loss: number;
  grad_l2_norm?: Record<string, number>;
  grad_values?: Record<string, number[]>;
  grad_total_l2_norm?: number;
}

export interface RemaxE2E {
  prompt_len: number;
  input_ids: number[][];
  attention_mask: number[][];
  reward: number[];
  baseline_reward: number[];
  logprobs: number[][];
  ref_logprobs: number[][];
  full_kl: number[][];
  variants: RemaxVariant[];
}

export function loadRemaxE2E(): RemaxE2E {
  return JSON.parse(readFileSync(`${FIXTURES}algo/remax-e2e.json`, 'utf8')) as RemaxE2E;
}
