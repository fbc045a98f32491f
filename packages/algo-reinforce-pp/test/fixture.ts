// Loads fixtures/algo/reinforce-pp.json (an independent float64 PyTorch
// reference of OpenRLHF's REINFORCE++) and the two models it was made with.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CausalLM, loadCausalLM } from '@remax/model-mistral';
import type { GoldenGradients, GroupBatchFixture } from '../../../test-support/goldenGradients.js';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export interface ReinforcePPVariant extends GoldenGradients {
  estimator: 'reinforce' | 'reinforce_baseline';
  beta: number;
  kl_estimator: 'k1' | 'k2' | 'k3';
  gamma: number;
  reward_clip_range: [number, number];
  epsilon_low: number;
  epsilon_high: number;
  shaped_scores: number[];
  token_rewards: number[][];
  returns: number[][];
  whiten_mean: number;
  whiten_rstd: number;
  advantages: number[][];
}

export interface ReinforcePPFixture extends GroupBatchFixture {
  variants: ReinforcePPVariant[];
  clip_math: {
    mask: number[][];
    logprobs: number[][];
    old_logprobs: number[][];
    advantages: number[][];
    epsilon_low: number;
    epsilon_high: number;
    loss: number;
    dloss_dlogprobs: number[][];
  };
}

export const reinforcePPFixture = (): ReinforcePPFixture =>
  JSON.parse(readFileSync(`${FIXTURES}algo/reinforce-pp.json`, 'utf8')) as ReinforcePPFixture;

export const loadModel = (path: string): Promise<CausalLM> =>
  loadCausalLM(`${FIXTURES}models/${path}`);
