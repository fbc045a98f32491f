// Loads fixtures/algo/rloo.json (an independent float64 PyTorch reference of
// TRL's RLOOTrainer and the RLOO paper) and the two models it was made with.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf } from '@remax/core';
import { type CausalLM, loadCausalLM } from '@remax/model-mistral';
import type { GoldenGradients } from '../../../test-support/goldenGradients.js';

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

export interface RlooFixture {
  prompt_len: number;
  num_prompts: number;
  num_generations: number;
  input_ids: number[][];
  attention_mask: number[][];
  scores: number[];
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

/** The fixture's batch as a ScoredBatch (tensors the caller disposes). */
export function scoredBatch(f: RlooFixture) {
  return {
    inputIds: tf.tensor2d(f.input_ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(f.attention_mask, undefined, 'int32'),
    promptLength: f.prompt_len,
    scores: f.scores,
    groupSize: f.num_generations,
  };
}
