import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemaxError } from '@remax/core';

/** The config.json fields a parameter count needs (HF names verbatim). */
export interface Architecture {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  tie_word_embeddings: boolean;
}

/**
 * config.json of the checkpoints the 7B configs name, so `plan` answers
 * before anything is downloaded (values from the models' config.json).
 */
export const KNOWN_ARCHITECTURES: Record<string, Architecture> = {
  'mistralai/Mistral-7B-Instruct-v0.2': {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    tie_word_embeddings: false,
  },
  // Llama-2-13B backbone + regression_head
  'openbmb/UltraRM-13b': {
    vocab_size: 32000,
    hidden_size: 5120,
    intermediate_size: 13824,
    num_hidden_layers: 40,
    num_attention_heads: 40,
    num_key_value_heads: 40,
    tie_word_embeddings: false,
  },
};

/** Reads the architecture from `dir/config.json`, else from the known table by hub id. */
export function architectureOf(dir: string, hubId: string | null): Architecture {
  const file = join(dir, 'config.json');
  if (existsSync(file)) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Partial<Architecture>;
    return {
      vocab_size: need(c.vocab_size, 'vocab_size', file),
      hidden_size: need(c.hidden_size, 'hidden_size', file),
      intermediate_size: need(c.intermediate_size, 'intermediate_size', file),
      num_hidden_layers: need(c.num_hidden_layers, 'num_hidden_layers', file),
      num_attention_heads: need(c.num_attention_heads, 'num_attention_heads', file),
      num_key_value_heads:
        c.num_key_value_heads ?? need(c.num_attention_heads, 'num_attention_heads', file),
      tie_word_embeddings: c.tie_word_embeddings ?? false,
    };
  }
  const known = hubId === null ? undefined : KNOWN_ARCHITECTURES[hubId];
  if (known) return known;
  throw new RemaxError('E_FILE', 'no config.json to plan from', {
    file,
    expected: `the model directory, or a hub_id among ${Object.keys(KNOWN_ARCHITECTURES).join(', ')}`,
  });
}

function need(v: number | undefined, field: string, file: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new RemaxError('E_CONFIG', 'config.json field missing or not a positive integer', {
      file,
      field,
      value: v,
    });
  }
  return v;
}

/** Parameters of a decoder: with the LM head for a policy, with a [1, hidden] head for a reward/value model. */
export function parameterCount(a: Architecture, head: 'lm' | 'scalar'): number {
  const H = a.hidden_size;
  const headDim = H / a.num_attention_heads;
  const kvDim = a.num_key_value_heads * headDim;
  const attention = H * H * 2 + H * kvDim * 2; // q, o: [H, H]; k, v: [kv, H]
  const mlp = 3 * H * a.intermediate_size; // gate, up: [I, H]; down: [H, I]
  const norms = 2 * H;
  const embed = a.vocab_size * H;
  const headParams = head === 'lm' ? (a.tie_word_embeddings ? 0 : a.vocab_size * H) : H;
  return embed + a.num_hidden_layers * (attention + mlp + norms) + H + headParams;
}

/** [out, in] of each projection a LoRA target names (HF module suffix). */
function projectionShape(a: Architecture, name: string): [number, number] {
  const H = a.hidden_size;
  const kvDim = a.num_key_value_heads * (H / a.num_attention_heads);
  const I = a.intermediate_size;
  const shapes: Record<string, [number, number]> = {
    q_proj: [H, H],
    k_proj: [kvDim, H],
    v_proj: [kvDim, H],
    o_proj: [H, H],
    gate_proj: [I, H],
    up_proj: [I, H],
    down_proj: [H, I],
  };
  const s = shapes[name];
  if (!s)
    throw new RemaxError('E_CONFIG', 'unknown LoRA target', {
      field: 'lora.target_modules',
      value: name,
    });
  return s;
}

/** LoRA parameters: r * (in + out) per targeted projection of every layer (A [r, in], B [out, r]). */
export function loraParameterCount(
  a: Architecture,
  lora: { r: number; target_modules: string[] },
): number {
  let perLayer = 0;
  for (const t of lora.target_modules) {
    const [out, inDim] = projectionShape(a, t);
    perLayer += lora.r * (inDim + out);
  }
  return a.num_hidden_layers * perLayer;
}
