import { parseWith } from '@remax/core';
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const tokenId = z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())]);

/** Keys shared by Hugging Face's MistralConfig and LlamaConfig (snake_case, verbatim). */
const common = {
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.optional(),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  max_position_embeddings: positiveInt.default(4096),
  tie_word_embeddings: z.boolean().default(false),
  bos_token_id: tokenId.nullable().optional(),
  eos_token_id: tokenId.nullable().optional(),
  pad_token_id: tokenId.nullable().optional(),
  hidden_act: z.literal('silu', { message: "only hidden_act 'silu' is supported" }).default('silu'),
  torch_dtype: z.string().optional(),
  architectures: z.array(z.string()).optional(),
};

/** HF MistralConfig (config.json of MistralForCausalLM). Unknown keys are kept. */
export const MistralConfigSchema = z.looseObject({
  model_type: z.literal('mistral'),
  ...common,
  // transformers' MistralConfig default when the key is absent (v0.2 configs say null)
  sliding_window: positiveInt.nullable().default(4096),
});

/** HF LlamaConfig (LlamaForCausalLM, and the UltraRM backbone). */
export const LlamaConfigSchema = z.looseObject({
  model_type: z.literal('llama'),
  ...common,
  rope_scaling: z.null().optional(),
  attention_bias: z.literal(false, { message: 'attention_bias is not supported' }).optional(),
});

export const CausalLMConfigSchema = z.discriminatedUnion('model_type', [
  MistralConfigSchema,
  LlamaConfigSchema,
]);

export type MistralConfig = z.output<typeof MistralConfigSchema>;
export type LlamaConfig = z.output<typeof LlamaConfigSchema>;
export type CausalLMConfig = MistralConfig | LlamaConfig;

/** Validates a parsed config.json (HF keys verbatim); throws one RemaxError listing every problem. */
export function parseCausalLMConfig(data: unknown, file?: string): CausalLMConfig {
  const cfg = parseWith(CausalLMConfigSchema, data, { file, what: 'model config' });
  const kv = cfg.num_key_value_heads ?? cfg.num_attention_heads;
  parseWith(
    z.object({
      hidden_size: z
        .number()
        .refine(
          (h) => h % cfg.num_attention_heads === 0,
          'must be divisible by num_attention_heads',
        ),
      num_key_value_heads: z
        .number()
        .refine((k) => cfg.num_attention_heads % k === 0, 'must divide num_attention_heads'),
      head_dim: z
        .number()
        .refine((d) => d % 2 === 0, 'hidden_size / num_attention_heads must be even (RoPE)'),
    }),
    {
      hidden_size: cfg.hidden_size,
      num_key_value_heads: kv,
      head_dim: cfg.hidden_size / cfg.num_attention_heads,
    },
    { file, what: 'model config' },
  );
  return cfg;
}

/** Derived numbers the model needs (never renamed copies of HF keys in the config itself). */
export interface Dims {
  vocab: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  ropeTheta: number;
  /** null: full causal attention. */
  slidingWindow: number | null;
}

export function dimsOf(cfg: CausalLMConfig): Dims {
  return {
    vocab: cfg.vocab_size,
    hidden: cfg.hidden_size,
    intermediate: cfg.intermediate_size,
    layers: cfg.num_hidden_layers,
    heads: cfg.num_attention_heads,
    kvHeads: cfg.num_key_value_heads ?? cfg.num_attention_heads,
    headDim: cfg.hidden_size / cfg.num_attention_heads,
    eps: cfg.rms_norm_eps,
    ropeTheta: cfg.rope_theta,
    slidingWindow: cfg.model_type === 'mistral' ? cfg.sliding_window : null,
  };
}
