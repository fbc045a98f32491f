// adapter_config.json as PEFT writes and reads it (peft/tuners/lora/config.py LoraConfig +
// peft/config.py PeftConfig, PEFT 0.20.0): every field with PEFT's default, the options this
// implementation supports, and a typed refusal for the ones that would change the semantics.
import { parseWith, RemaxError } from '@remax/core';
import { z } from 'zod';

/** The PEFT release whose file format saveAdapter writes (the fixtures' version). */
export const PEFT_VERSION = '0.20.0';

/** Every field PEFT 0.20.0's save_pretrained writes, with LoraConfig's default. */
export const PEFT_LORA_DEFAULTS = {
  alora_invocation_tokens: null,
  alpha_pattern: {},
  arrow_config: null,
  auto_mapping: null,
  base_model_name_or_path: null,
  bias: 'none',
  corda_config: null,
  ensure_weight_tying: false,
  eva_config: null,
  exclude_modules: null,
  fan_in_fan_out: false,
  inference_mode: false,
  init_lora_weights: true,
  layer_replication: null,
  layers_pattern: null,
  layers_to_transform: null,
  loftq_config: {},
  lora_alpha: 8,
  lora_bias: false,
  lora_dropout: 0.0,
  lora_ga_config: null,
  megatron_config: null,
  megatron_core: 'megatron.core',
  modules_to_save: null,
  monteclora_config: null,
  peft_type: 'LORA',
  peft_version: null,
  qalora_group_size: 16,
  r: 8,
  rank_pattern: {},
  revision: null,
  target_modules: null,
  target_parameters: null,
  task_type: null,
  trainable_token_indices: null,
  use_bdlora: null,
  use_dora: false,
  use_qalora: false,
  use_rslora: false,
  velora_config: null,
} as const satisfies Record<string, unknown>;

/**
 * TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING (peft/utils/constants.py): what PEFT
 * targets when target_modules is null.
 */
const DEFAULT_TARGETS: Record<string, string[]> = {
  mistral: ['q_proj', 'v_proj'],
  llama: ['q_proj', 'v_proj'],
};

/** Options that change what the adapter computes; refused unless they hold their "off" value. */
const MUST_BE_OFF: Record<string, string> = {
  bias: '"none"',
  fan_in_fan_out: 'false (weights stored [out, in])',
  use_dora: 'false (DoRA is not implemented)',
  rank_pattern: '{} (one rank for every module)',
  alpha_pattern: '{} (one alpha for every module)',
  lora_bias: 'false',
  modules_to_save: 'null (no fully trained extra modules)',
  layers_to_transform: 'null (every layer)',
  layers_pattern: 'null',
  layer_replication: 'null',
  use_qalora: 'false',
  alora_invocation_tokens: 'null (aLoRA is not implemented)',
  trainable_token_indices: 'null',
  target_parameters: 'null (nn.Parameter targets are not implemented)',
  use_bdlora: 'null',
  arrow_config: 'null',
  megatron_config: 'null',
  loftq_config: '{} (LoftQ changes the base weights)',
  eva_config: 'null',
  corda_config: 'null (CorDA changes the base weights)',
  lora_ga_config: 'null',
  velora_config: 'null',
  monteclora_config: 'null',
};

/** init_lora_weights values that only shape A and B at creation; the others alter the base. */
const PLAIN_INITS: unknown[] = [true, false, 'gaussian'];

const Fields = z.looseObject({
  peft_type: z.literal('LORA', { message: 'only LoRA adapters (peft_type "LORA")' }),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).lt(1),
  use_rslora: z.boolean(),
  target_modules: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)]).nullable(),
  exclude_modules: z.union([z.array(z.string().min(1)), z.string().min(1)]).nullable(),
  base_model_name_or_path: z.string().nullable(),
  inference_mode: z.boolean(),
  task_type: z.string().nullable(),
});

/** A parsed adapter_config.json: PEFT's full field set, absent keys filled with PEFT's defaults. */
export type PeftLoraConfig = z.output<typeof Fields> & Record<string, unknown>;

function isOff(v: unknown): boolean {
  if (v === null || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v as object).length === 0;
}

/**
 * Parses an adapter_config.json object. Keys absent (older PEFT, e.g. use_rslora before
 * 0.8) get PEFT's defaults; an option that would change the semantics, or an unknown key
 * (a newer PEFT) that is not off, is an E_UNSUPPORTED error naming the key.
 */
export function parsePeftConfig(raw: unknown, file?: string): PeftLoraConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RemaxError('E_CONFIG', 'adapter config must be a JSON object', {
      file,
      value: raw,
    });
  }
  const merged: Record<string, unknown> = { ...PEFT_LORA_DEFAULTS, ...raw };
  const cfg = parseWith(Fields, merged, { file, what: 'adapter_config.json' }) as PeftLoraConfig;
  for (const [key, expected] of Object.entries(MUST_BE_OFF)) {
    const v = merged[key];
    const off = key === 'bias' ? v === 'none' : isOff(v);
    if (!off) {
      throw new RemaxError('E_UNSUPPORTED', 'unsupported LoRA option', {
        file,
        field: key,
        value: v,
        expected,
      });
    }
  }
  if (!PLAIN_INITS.includes(merged['init_lora_weights'])) {
    throw new RemaxError('E_UNSUPPORTED', 'unsupported LoRA initialisation', {
      file,
      field: 'init_lora_weights',
      value: merged['init_lora_weights'],
      expected: 'true, false or "gaussian" (the others change the base weights)',
    });
  }
  for (const [key, v] of Object.entries(raw)) {
    if (!(key in PEFT_LORA_DEFAULTS) && !isOff(v)) {
      throw new RemaxError('E_UNSUPPORTED', 'unknown LoRA option (newer PEFT?) is set', {
        file,
        field: key,
        value: v,
        expected: `null/false/{} or a PEFT ${PEFT_VERSION} field`,
      });
    }
  }
  return cfg;
}

/** PEFT's scaling: lora_alpha / r, or lora_alpha / sqrt(r) with rslora (tuners/lora/layer.py update_layer). */
export function loraScaling(cfg: { r: number; lora_alpha: number; use_rslora: boolean }): number {
  return cfg.use_rslora ? cfg.lora_alpha / Math.sqrt(cfg.r) : cfg.lora_alpha / cfg.r;
}

/**
 * PEFT's check_target_module_exists: a string is a regex that must match the whole module
 * name; a list matches a name equal to an entry or ending with "." + entry; "all-linear"
 * means every linear but the output head. exclude_modules uses the same rules.
 */
export function moduleMatcher(cfg: PeftLoraConfig, modelType: string): (name: string) => boolean {
  const targets = cfg.target_modules ?? DEFAULT_TARGETS[modelType];
  if (targets === undefined) {
    throw new RemaxError(
      'E_UNSUPPORTED',
      'target_modules is null and the model type has no default',
      {
        field: 'target_modules',
        value: modelType,
        expected: 'a list of module names',
      },
    );
  }
  const matches = (spec: string | string[], name: string): boolean =>
    typeof spec === 'string'
      ? spec === 'all-linear'
        ? true
        : new RegExp(`^(?:${spec})$`).test(name)
      : spec.some((t) => name === t || name.endsWith(`.${t}`));
  const exclude = cfg.exclude_modules;
  return (name) => matches(targets, name) && !(exclude !== null && matches(exclude, name));
}

/**
 * The adapter_config.json text PEFT writes: json.dumps(indent=2, sort_keys=True), no final
 * newline; lists of target names sorted (PEFT keeps them as a set). lora_dropout is a float
 * in Python and prints as "0.0".
 */
export function formatPeftConfig(cfg: Record<string, unknown>): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  const out = { ...cfg };
  if (Array.isArray(out['target_modules']))
    out['target_modules'] = [...out['target_modules']].sort();
  return JSON.stringify(sorted(out), null, 2).replace(
    /("lora_dropout": )(-?\d+)(,?)$/m,
    (_, k: string, n: string, c: string) => `${k}${n}.0${c}`,
  );
}
