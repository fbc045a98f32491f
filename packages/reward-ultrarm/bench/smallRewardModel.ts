import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@remax/core';
import { type TensorEntry, writeSafetensors } from '@remax/safetensors';

/** The "small" shape every @remax bench uses (see @remax/model-mistral). */
export const SMALL = {
  vocab_size: 32000,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 4,
};

/**
 * Writes a LlamaRewardModel directory at the small shape with seeded random
 * weights (normal * 0.02, norms 1) and the Llama tokenizer; returns its path.
 */
export async function writeSmallRewardModel(seed: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'remax-ultrarm-small-'));
  const H = SMALL.hidden_size;
  const I = SMALL.intermediate_size;
  const kv = (H / SMALL.num_attention_heads) * SMALL.num_key_value_heads;
  const rng = Rng.fromSeed(seed);
  const normal = (shape: number[]): TensorEntry => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = 0.02 * rng.nextNormal();
    return { dtype: 'F32', shape, data };
  };
  const ones = (n: number): TensorEntry => ({
    dtype: 'F32',
    shape: [n],
    data: new Float32Array(n).fill(1),
  });
  const tensors = new Map<string, TensorEntry>([
    ['model.embed_tokens.weight', normal([SMALL.vocab_size, H])],
  ]);
  for (let l = 0; l < SMALL.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    tensors.set(`${p}.self_attn.q_proj.weight`, normal([H, H]));
    tensors.set(`${p}.self_attn.k_proj.weight`, normal([kv, H]));
    tensors.set(`${p}.self_attn.v_proj.weight`, normal([kv, H]));
    tensors.set(`${p}.self_attn.o_proj.weight`, normal([H, H]));
    tensors.set(`${p}.mlp.gate_proj.weight`, normal([I, H]));
    tensors.set(`${p}.mlp.up_proj.weight`, normal([I, H]));
    tensors.set(`${p}.mlp.down_proj.weight`, normal([H, I]));
    tensors.set(`${p}.input_layernorm.weight`, ones(H));
    tensors.set(`${p}.post_attention_layernorm.weight`, ones(H));
  }
  tensors.set('model.norm.weight', ones(H));
  tensors.set('regression_head.weight', normal([1, H]));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const config = {
    architectures: ['LlamaRewardModel'],
    model_type: 'llama',
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 0,
    hidden_act: 'silu',
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    ...SMALL,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const tokenizer = fileURLToPath(
    new URL('../../../fixtures/models/tiny-ultrarm/tokenizer.model', import.meta.url),
  );
  copyFileSync(tokenizer, join(dir, 'tokenizer.model'));
  return dir;
}
