import { z } from 'zod';
import { algorithms } from '../algorithms.js';
import { type AlgoName, algoNames, sharedSettings } from '../registry/lookup.js';
import { optimSection } from '../registry/optimizer.js';

const positiveInt = z.number().int().positive();
const probability = z.number().gt(0).lte(1);

/** A model directory in Hugging Face layout (config.json + weights + tokenizer). */
const modelSection = z.strictObject({
  /** Directory, relative to the config file. */
  path: z.string().min(1),
  /** Tensor dtype in memory (checkpoints in bf16/f16 are widened on load). */
  dtype: z.literal('float32').default('float32'),
  /** Hugging Face Hub id the directory holds, named when the path is missing. */
  hub_id: z.string().min(1).nullable().default(null),
});

const optionalModelSection = z.strictObject({
  path: z.string().min(1).nullable().default(null),
  dtype: z.literal('float32').default('float32'),
  hub_id: z.string().min(1).nullable().default(null),
});

/** Prompt selection from lmsys-chat-1m (used by `prepare-data` and by `train` on a raw source). */
export const filtersSchema = z.strictObject({
  /** Keep only these `language` values; empty keeps every language. */
  languages: z.array(z.string().min(1)).default(['English']),
  /** Drop conversations lmsys marked `redacted` (PII replaced by placeholders). */
  drop_redacted: z.boolean().default(true),
  /** Drop prompts that are empty or whitespace only. */
  drop_empty: z.boolean().default(true),
  /** Drop exact duplicate prompts (after trimming), keeping the first. */
  drop_duplicates: z.boolean().default(true),
  /** Shortest prompt kept, in characters (after trimming). */
  min_chars: z.number().int().nonnegative().default(1),
});

export const dataSchema = z.strictObject({
  /**
   * Prompt source, relative to the config file: lmsys-chat-1m parquet shard(s)
   * (a file, or a directory of *.parquet), the dataset as JSONL, or a prompts
   * JSONL written by `prepare-data` (lines with `prompt`).
   */
  source: z.string().min(1),
  /** Hugging Face Hub dataset id of the source, named when it is missing. */
  hub_id: z.string().min(1).nullable().default(null),
  /** How many prompts to train on (after filtering and the seeded shuffle). */
  num_prompts: positiveInt,
  /** Held-out prompts for `eval` (taken after the training prompts). */
  eval_prompts: z.number().int().nonnegative().default(0),
  /** Longest chat-templated prompt kept, in policy tokens. */
  max_prompt_seq: positiveInt,
  /** Most new tokens per response. */
  max_answer_seq: positiveInt,
  /**
   * Prompt format: mistral-v1 (built in, mistral-common's encoding), auto (the
   * policy's tokenizer_config.json chat_template) or a .jinja file (relative to
   * the config file). The reward model reads prompts back as mistral-v1, so a
   * template must encode them the same way (checked at start).
   */
  chat_template: z
    .string()
    .min(1)
    .refine((t) => t === 'auto' || t === 'mistral-v1' || t.endsWith('.jinja'), {
      message: 'expected auto | mistral-v1 | the path of a .jinja file',
    })
    .default('mistral-v1'),
  filters: filtersSchema.prefault({}),
});

export const generationSchema = z.strictObject({
  temperature: z.number().positive(),
  top_p: probability,
  /** 0 = no top-k cut. */
  top_k: z.number().int().nonnegative().default(0),
});

export const trainSchema = z.strictObject({
  epochs: positiveInt,
  /** Stop after this many optimizer steps (null = as many as the prompts allow). */
  max_steps: positiveInt.nullable().default(null),
  /** Prompts per rollout (generation batch). */
  batch_size: positiveInt,
  /** Sequences per forward/backward pass; gradients accumulate over the batch's micro-batches. */
  micro_batch_size: positiveInt,
  /** Updates skipped in a row (non-finite loss or gradient) before the run stops with E_DIVERGED. */
  max_consecutive_skips: positiveInt.default(3),
});

export const wandbSchema = z.strictObject({
  /** W&B project (`wandb sync -p` takes the same for offline runs). */
  project: z.string().min(1).default('remax-train-mistral'),
  /** W&B entity (team or user); null = the API key's default. */
  entity: z.string().min(1).nullable().default(null),
  /** Display name of the run; null = the run directory's name. */
  name: z.string().min(1).nullable().default(null),
  /**
   * online: log through @wandb/sdk while training. offline: nothing contacts W&B;
   * the TensorBoard files are uploaded later with `wandb sync --sync-tensorboard`
   * (the JS SDK itself drops data offline).
   */
  mode: z.enum(['online', 'offline']).default('offline'),
});

/** LoRA adapters (PEFT's LoraConfig names): train these instead of every weight. */
export const loraSchema = z.strictObject({
  r: positiveInt,
  /** lora_alpha; scaling = alpha / r (alpha / sqrt(r) with use_rslora). */
  alpha: z.number().positive(),
  /** Projections adapted in every layer (PEFT target_modules); default all seven. */
  target_modules: z
    .array(z.enum(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']))
    .min(1)
    .default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
  /**
   * lora_dropout. Only 0: the rollout, scoring and loss passes share one model and
   * have no train/eval mode, so a dropout would also perturb the old logprobs.
   */
  dropout: z.literal(0, { message: 'only 0 is supported (no train/eval modes)' }).default(0),
  use_rslora: z.boolean().default(false),
  /** PPO: the critic's backbone gets adapters too (its regression head stays fully trained). */
  critic: z.boolean().default(true),
});

/** Adapter hot-swap into the rollout engine (docs/scaling-out.md). */
export const syncSchema = z.strictObject({
  /** Save and load the adapter into the engine after every N updates (1 = on-policy rollouts). */
  every_steps: positiveInt,
  /** The adapter's name on the engine (vLLM lora_name); completions ask for `model: <lora_name>`. */
  lora_name: z.string().min(1).default('remax-policy'),
  /**
   * adapters/step-N folders kept (the newest); older ones are removed once the
   * engine has loaded a newer one (at 7B r 16 each is ~170 MB, written every sync).
   */
  keep_last: positiveInt.default(2),
});

export const outputSchema = z
  .strictObject({
    /** Run directory, relative to the current directory. */
    dir: z.string().min(1),
    /** Save an HF checkpoint every N steps (0 = only at the end). */
    checkpoint_every: z.number().int().nonnegative(),
    save_dtype: z.enum(['bfloat16', 'float16', 'float32']),
    /** Largest safetensors shard written. */
    max_shard_bytes: positiveInt.default(5 * 1024 ** 3),
    /** Write sample generations every N steps. */
    samples_every: positiveInt.default(1),
    /** Render report.html and PNG charts when the run ends. */
    report: z.boolean().default(true),
    /** With LoRA: also write final/merged, the adapters folded into an ordinary HF checkpoint. */
    save_merged: z.boolean().default(false),
    /** Where metrics go besides metrics.jsonl (always written). */
    report_to: z
      .array(z.enum(['tensorboard', 'wandb']))
      .default([])
      .refine((xs) => new Set(xs).size === xs.length, 'each reporter at most once'),
    wandb: wandbSchema.prefault({}),
    /** Keep only the newest N checkpoints (null = all; each is the policy + optimizer state). */
    save_total_limit: positiveInt.nullable().default(null),
  })
  .superRefine((o, ctx) => {
    if (
      o.report_to.includes('wandb') &&
      o.wandb.mode === 'offline' &&
      !o.report_to.includes('tensorboard')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['report_to'],
        message:
          "wandb with output.wandb.mode: offline needs 'tensorboard' in report_to too: W&B's JavaScript SDK cannot log offline, so `wandb sync --sync-tensorboard` uploads the TensorBoard files (or set output.wandb.mode: online)",
      });
    }
  });

/** Where an engine listens: vLLM's OpenAI-compatible server or `remax-train-mistral serve`. */
const engineFields = {
  /** e.g. http://127.0.0.1:8000/v1 (rollout) or http://127.0.0.1:8001 (reward: /classify is at the root). */
  base_url: z.url().nullable().default(null),
  /** The served model name (`--served-model-name`). */
  model: z.string().min(1).nullable().default(null),
  /** Name of the environment variable holding the API key (the key itself never goes in YAML). */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
    .nullable()
    .default(null),
  /** Requests in flight at most. */
  max_concurrency: positiveInt.default(64),
  /** Per-request timeout, seconds. */
  timeout_s: z.number().positive().default(600),
  /** Retries (with backoff) on connection errors, timeouts, 429 and 5xx before E_ENGINE. */
  max_retries: z.number().int().nonnegative().default(3),
};

export const rolloutSchema = z
  .strictObject({
    /** local: generate in the trainer (tfjs); openai: POST /v1/completions to an engine. */
    engine: z.enum(['local', 'openai']).default('local'),
    ...engineFields,
    /**
     * A remote engine serves the weights it was started with; only LoRA adapter
     * sync keeps it on the trained policy. With full fine-tuning the run refuses
     * to start unless this is true (rollouts then come from the starting policy).
     */
    allow_stale_weights: z.boolean().default(false),
  })
  .superRefine(requireEndpoint('openai'));

function requireEndpoint(remote: string) {
  return (
    v: { engine: string; base_url: string | null; model: string | null },
    ctx: z.RefinementCtx,
  ) => {
    if (v.engine !== remote) return;
    for (const key of ['base_url', 'model'] as const) {
      if (v[key] === null) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required with engine: ${remote}` });
      }
    }
  };
}

/**
 * One section per registered algorithm, named after it: the package's config
 * fields in snake_case with the package's defaults (src/algorithms.ts).
 */
const algorithmSections = Object.fromEntries(
  algorithms.map((a) => [a.name, a.section.prefault({})]),
  // fromEntries cannot know its keys are exactly the registered names
) as Record<AlgoName, z.ZodPrefault<z.ZodObject>>;

const runConfigFields = z.strictObject({
  /** Which algorithm trains the policy: the one field an ablation changes. */
  algo: z.enum(algoNames),
  seed: z.number().int().nonnegative(),
  backend: z.enum(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'),
  policy: modelSection,
  /** Frozen reference model; null = a copy of the policy's starting weights. */
  reference: optionalModelSection.prefault({}),
  reward: z
    .strictObject({
      path: z.string().min(1),
      dtype: z.literal('float32').default('float32'),
      hub_id: z.string().min(1).nullable().default(null),
      /** Sequences per reward-model forward. */
      batch_size: positiveInt.default(8),
      /**
       * local: score in the trainer; remote: POST /classify to a served UltraRM
       * (converted with `convert-rm`). With remote, `path` gives only the
       * tokenizer and max length (the weights are not loaded).
       */
      engine: z.enum(['local', 'remote']).default('local'),
      ...engineFields,
    })
    .superRefine(requireEndpoint('remote')),
  /** PPO critic initialisation; null = the reward model (DeepSpeed-Chat). */
  critic: optionalModelSection.prefault({}),
  data: dataSchema,
  generation: generationSchema,
  /** Where rollouts are generated (docs/scaling-out.md). */
  rollout: rolloutSchema.prefault({}),
  /** The policy optimizer, @remax/core's settings and defaults (max_grad_norm null = no clipping). */
  optim: optimSection.prefault({}),
  train: trainSchema,
  ...algorithmSections,
  output: outputSchema,
  /** LoRA adapters on the policy (the reference is the policy with them off); null = full fine-tuning. */
  lora: loraSchema.nullable().default(null),
  /**
   * LoRA + a remote rollout engine: hot-swap the trained adapter into the engine
   * (vLLM's /v1/load_lora_adapter) every N steps; null = no sync.
   */
  sync: syncSchema.nullable().default(null),
});

/**
 * The run config with its cross-field checks (each names both fields). Each
 * algorithm section is also validated as its package validates it (merged with
 * `optim` and `train`), so cross-field rules of the package fail at load time,
 * named by their YAML key.
 */
export const runConfigSchema = runConfigFields.superRefine((config, ctx) => {
  const { train } = config;
  // the optim section is core's fields under snake_case keys (typed loosely by the mapping)
  const warmup = config.optim.warmup_steps;
  if (train.max_steps !== null && typeof warmup === 'number' && warmup > train.max_steps) {
    ctx.addIssue({
      code: 'custom',
      path: ['optim', 'warmup_steps'],
      message: `warmup longer than the run: must be <= train.max_steps (${train.max_steps})`,
    });
  }
  if (train.batch_size % train.micro_batch_size !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['train', 'micro_batch_size'],
      message: `must divide train.batch_size (${train.batch_size})`,
    });
  }
  // the step count is known once the prompts are loaded; any count validates the keys
  const shared = sharedSettings(config, config.train.max_steps ?? 1);
  for (const a of algorithms) {
    for (const issue of a.check(config[a.name], shared)) ctx.addIssue({ code: 'custom', ...issue });
  }
});

/** A validated run configuration (defaults applied). */
export type RolloutConfig = z.output<typeof rolloutSchema>;
export type RunConfig = z.output<typeof runConfigFields>;
export type LoraRunConfig = z.output<typeof loraSchema>;
export type FiltersConfig = z.output<typeof filtersSchema>;
export type { AlgoName };
