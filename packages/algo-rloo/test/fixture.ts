// Loads fixtures/algo/rloo.json (an independent float64 PyTorch reference of
// TRL's RLOOTrainer and the RLOO paper) and the two models it was made with.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf } from '@remax/core';
import { type CausalLM, loadCausalLM } from '@remax/model-mistral';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export interface GradientGolden {
  loss: number;
  loss_zero_in_exact_arithmetic: boolean;
  grad_l2_norm: Record<string, number>;
  grad_total_l2_norm: number;
  /** HF layout; matrices as nested rows. */
  grad_values: Record<string, number[] | number[][]>;
}

export interface RlooVariant extends GradientGolden {
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

const l2 = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

/** Every parameter's gradient norm (1e-4 relative), the total norm, and the full gradients given. */
export function expectGradients(
  grads: ReadonlyMap<string, tf.Tensor>,
  want: GradientGolden,
  expect: (actual: unknown, message?: string) => { toBeLessThan(n: number): void },
): void {
  let total = 0;
  for (const [name, norm] of Object.entries(want.grad_l2_norm)) {
    const got = l2((grads.get(name) as tf.Tensor).dataSync());
    total += got * got;
    expect(Math.abs(got - norm) / norm, name).toBeLessThan(1e-4);
  }
  const wantTotal = want.grad_total_l2_norm;
  expect(Math.abs(Math.sqrt(total) - wantTotal) / wantTotal, 'total').toBeLessThan(1e-4);
  for (const [name, nested] of Object.entries(want.grad_values)) {
    const values = nested.flat();
    const got = (grads.get(name) as tf.Tensor).dataSync();
    // 10 significant digits in the file; 1e-4 relative to the tensor's RMS
    const scale = l2(values) / Math.sqrt(values.length);
    values.forEach((v, i) => {
      expect(Math.abs((got[i] as number) - v), `${name}[${i}]`).toBeLessThan(1e-4 * scale);
    });
  }
}
