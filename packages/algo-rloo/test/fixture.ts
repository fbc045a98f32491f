// Loads fixtures/algo/rloo.json (an independent float64 PyTorch reference of
// TRL's RLOOTrainer and the RLOO paper) and the two models it was made with.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CausalLM, loadCausalLM } from '@remax/model-mistral';
import type { GoldenGradients, GroupBatchFixture } from '../../../test-support/goldenGradients.js';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export interface RlooVariant extends GoldenGradients {
  form: 'classic' | 'trl';
  beta: number;
  normalize_advantages?: boolean;
  epsilon_low?: number;
  epsilon_high?: number;
  kl_sum: number[];
  rlhf_reward: number[];
  baseline: number[];
  advantages: number[];
}

export interface RlooFixture extends GroupBatchFixture {
  variants: RlooVariant[];
  trl_clip_math: {
    mask: number[][];
    logprobs: number[][];
    old_logprobs: number[][];
    advantages: number[];
    epsilon_low: number;
    epsilon_high: number;
    loss: number;
    dloss_dlogprobs: number[][];
  };
}

export const rlooFixture = (): RlooFixture =>
  JSON.parse(readFileSync(`${FIXTURES}algo/rloo.json`, 'utf8')) as RlooFixture;

export async function loadModels(): Promise<{ policy: CausalLM; reference: CausalLM }> {
  return {
    policy: await loadCausalLM(`${FIXTURES}models/tiny-mistral-swa`),
    reference: await loadCausalLM(`${FIXTURES}models/tiny-mistral-swa/reference-policy`),
  };
}
