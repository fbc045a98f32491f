// Writes a randomly initialised Mistral checkpoint (HF names and layout) to a
// directory, so the bench loads it through the public loadCausalLM contract.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '@remax/core';
import { type TensorEntry, writeSafetensors } from '@remax/safetensors';

export interface SmallConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
}

/** The "small" benchmark shape of this project (19.3M parameters). */
export const SMALL: SmallConfig = {
  vocab_size: 32000,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 4,
};

export async function writeRandomCheckpoint(
  dir: string,
  c: SmallConfig,
  seed: number,
): Promise<void> {
  const rng = Rng.fromSeed(seed);
  const H = c.hidden_size;
  const kv = (H / c.num_attention_heads) * c.num_key_value_heads;
  const normal = (shape: number[]): TensorEntry => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.nextNormal() * 0.02;
    return { dtype: 'F32', shape, data };
  };
  const ones = (n: number): TensorEntry => ({
    dtype: 'F32',
    shape: [n],
    data: new Float32Array(n).fill(1),
  });
  const tensors: Record<string, TensorEntry> = {
    'model.embed_tokens.weight': normal([c.vocab_size, H]),
    'model.norm.weight': ones(H),
    'lm_head.weight': normal([c.vocab_size, H]),
  };
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    tensors[`${p}.self_attn.q_proj.weight`] = normal([H, H]);
    tensors[`${p}.self_attn.k_proj.weight`] = normal([kv, H]);
    tensors[`${p}.self_attn.v_proj.weight`] = normal([kv, H]);
    tensors[`${p}.self_attn.o_proj.weight`] = normal([H, H]);
    tensors[`${p}.mlp.gate_proj.weight`] = normal([c.intermediate_size, H]);
    tensors[`${p}.mlp.up_proj.weight`] = normal([c.intermediate_size, H]);
    tensors[`${p}.mlp.down_proj.weight`] = normal([H, c.intermediate_size]);
    tensors[`${p}.input_layernorm.weight`] = ones(H);
    tensors[`${p}.post_attention_layernorm.weight`] = ones(H);
  }
  await mkdir(dir, { recursive: true });
  const config = {
    architectures: ['MistralForCausalLM'],
    model_type: 'mistral',
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-5,
    rope_theta: 1e6,
    sliding_window: null,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    ...c,
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
}
