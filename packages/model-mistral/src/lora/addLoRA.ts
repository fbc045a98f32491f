import { parseWith, Rng, tf } from '@remax/core';
import { z } from 'zod';
import type { CausalLM } from '../causalLM.js';
import { AdapterSet, type LoraPair } from './adapterSet.js';
import {
  loraScaling,
  PEFT_LORA_DEFAULTS,
  type PeftLoraConfig,
  parsePeftConfig,
} from './peftConfig.js';
import { resolveTargets } from './targets.js';

export const AddLoRAOptionsSchema = z.strictObject({
  r: z.number().int().positive().describe('rank'),
  alpha: z.number().positive().describe('lora_alpha; scaling = alpha / r'),
  targetModules: z
    .union([z.array(z.string().min(1)).min(1), z.string().min(1)])
    .describe('module names (q_proj ... down_proj), a full-match regex, or "all-linear"'),
  dropout: z.number().min(0).lt(1).default(0).describe('lora_dropout (saved in the config)'),
  useRslora: z.boolean().default(false).describe('scaling = alpha / sqrt(r)'),
  seed: z.number().int().default(0).describe('seed of lora_A initialisation'),
  baseModelNameOrPath: z
    .string()
    .nullable()
    .default(null)
    .describe('saved as base_model_name_or_path'),
});
export type AddLoRAOptions = z.input<typeof AddLoRAOptionsSchema>;

/**
 * Adds fresh LoRA adapters to `model`, initialised as PEFT does
 * (reset_lora_parameters with init_lora_weights=True): lora_A as nn.Linear's default,
 * kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)) drawn from the seeded
 * Rng, and lora_B zeros, so the adapted model starts equal to the base. The base
 * weights become frozen. Returns the trainable tensors by PEFT key.
 */
export function addLoRA(model: CausalLM, options: AddLoRAOptions): Map<string, tf.Variable> {
  const o = parseWith(AddLoRAOptionsSchema, options, { what: 'addLoRA options', code: 'E_INPUT' });
  const config: PeftLoraConfig = parsePeftConfig({
    ...PEFT_LORA_DEFAULTS,
    base_model_name_or_path: o.baseModelNameOrPath,
    r: o.r,
    lora_alpha: o.alpha,
    lora_dropout: o.dropout,
    use_rslora: o.useRslora,
    target_modules: o.targetModules,
    task_type: 'CAUSAL_LM',
  });
  const targets = resolveTargets(model, config);
  const rng = Rng.fromSeed(o.seed);
  const pairs = new Map<string, LoraPair>();
  try {
    for (const t of targets) {
      const bound = 1 / Math.sqrt(t.in);
      const a = new Float32Array(o.r * t.in);
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.nextFloat() - 1) * bound;
      pairs.set(t.module, {
        A: tf.variable(tf.tensor2d(a, [o.r, t.in]), true),
        B: tf.variable(tf.zeros([t.out, o.r]), true),
      });
    }
  } catch (e) {
    for (const p of pairs.values()) tf.dispose([p.A, p.B]);
    throw e;
  }
  const set = new AdapterSet(config, loraScaling(config), pairs);
  model.attachAdapters(set);
  return set.parameters();
}
