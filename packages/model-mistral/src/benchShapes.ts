// The "small" shape every @remax benchmark uses (19.3M parameters: vocab 32000,
// hidden 256, intermediate 688, 4 layers, 8 heads / 4 KV heads), as config.json
// fields, so every package measures the same model.
const SMALL_SHAPE = {
  vocab_size: 32000,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-5,
  max_position_embeddings: 4096,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
  torch_dtype: 'float32',
} as const;

/** The small shape as a Mistral policy config (no sliding window, as v0.2). */
export const SMALL_MISTRAL_CONFIG = {
  ...SMALL_SHAPE,
  architectures: ['MistralForCausalLM'],
  model_type: 'mistral',
  rope_theta: 1e6,
  sliding_window: null,
} as const;

/** The small shape as a Llama backbone config (UltraRM's architecture). */
export const SMALL_LLAMA_CONFIG = {
  ...SMALL_SHAPE,
  architectures: ['LlamaRewardModel'],
  model_type: 'llama',
  rope_theta: 10000,
  pad_token_id: 0,
} as const;
