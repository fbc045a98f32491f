// LoRA in a run: adapters on the policy (and PPO's critic), the reference as the policy
// with its adapters off, and what checkpoints and final/ hold. train.ts and models.ts
// call these few functions and stay the same for full fine-tuning.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Policy, RemaxError } from '@remax/core';
import {
  ADAPTER_CONFIG,
  adapterPolicy,
  adaptersDisabledPolicy,
  addLoRA,
  type CausalLM,
  loadAdapter,
  loadCausalLM,
  mergeAdapters,
  saveAdapter,
} from '@remax/model-mistral';
import type { RunConfig } from '../config/schema.js';

/** final/merged: the adapters folded into an HF checkpoint (output.save_merged). */
export const MERGED_DIR = 'merged';

/** Config checks that need more than one section. */
export function checkLoraConfig(config: RunConfig): void {
  if (config.lora !== null && config.reference.path !== null) {
    throw new RemaxError(
      'E_CONFIG',
      'with lora the reference is the policy with its adapters off',
      {
        field: 'reference.path',
        value: config.reference.path,
        expected: 'null when lora is set',
      },
    );
  }
  if (config.lora === null && config.output.save_merged) {
    throw new RemaxError('E_CONFIG', 'save_merged needs LoRA adapters to merge', {
      field: 'output.save_merged',
      value: true,
      expected: 'false without a lora section',
    });
  }
}

/** PEFT's LoraConfig from the run's lora section (seeded from the run seed). */
export function addRunAdapters(model: CausalLM, config: RunConfig, seedOffset: number): void {
  const l = config.lora;
  if (l === null) return;
  addLoRA(model, {
    r: l.r,
    alpha: l.alpha,
    targetModules: l.target_modules,
    dropout: l.dropout,
    useRslora: l.use_rslora,
    seed: config.seed + seedOffset,
    baseModelNameOrPath: config.policy.hub_id ?? config.policy.path,
  });
}

/**
 * The trained policy and its reference. LoRA: the base gets fresh adapters (or the
 * checkpoint's, when resuming), the algorithm trains adapterPolicy (parameters() =
 * adapters), and the reference is the same model with them off: no second load.
 */
export async function loraPolicies(
  policy: CausalLM,
  config: RunConfig,
  adapterFrom: string | undefined,
): Promise<{ train: Policy; reference: Policy }> {
  if (adapterFrom !== undefined) await loadAdapter(policy, adapterFrom);
  else addRunAdapters(policy, config, 0);
  return { train: adapterPolicy(policy), reference: adaptersDisabledPolicy(policy) };
}

/**
 * A policy folder as `eval` reads it: an HF checkpoint, or a PEFT adapter folder
 * (adapter_config.json), loaded onto the run's base policy.
 */
export async function loadPolicyDir(dir: string, config: RunConfig): Promise<CausalLM> {
  if (!existsSync(join(dir, ADAPTER_CONFIG))) return loadCausalLM(dir);
  const model = await loadCausalLM(config.policy.path);
  try {
    await loadAdapter(model, dir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** A checkpoint's policy: the adapter folder with LoRA (small), else float32 HF weights. */
export async function savePolicyState(
  policy: CausalLM,
  dir: string,
  config: RunConfig,
): Promise<void> {
  if (policy.adapters !== null) {
    await saveAdapter(policy, dir);
    return;
  }
  // float32, the in-memory dtype, so --resume continues bit for bit
  await policy.save(dir, {
    dtype: 'float32',
    maxShardBytes: config.output.max_shard_bytes,
    tokenizerFrom: config.policy.path,
  });
}

/**
 * final/: the HF checkpoint in save_dtype, or with LoRA the adapter (PEFT files) and,
 * with output.save_merged, final/merged (this merges the model's adapters: call last).
 */
export async function saveFinalPolicy(
  policy: CausalLM,
  dir: string,
  config: RunConfig,
): Promise<void> {
  const hf = { maxShardBytes: config.output.max_shard_bytes, tokenizerFrom: config.policy.path };
  if (policy.adapters === null) {
    await policy.save(dir, { dtype: config.output.save_dtype, ...hf });
    return;
  }
  await saveAdapter(policy, dir);
  if (config.output.save_merged) {
    mergeAdapters(policy);
    await policy.save(join(dir, MERGED_DIR), { dtype: config.output.save_dtype, ...hf });
  }
}
