import { RemaxError } from '@remax/core';
import type { Dims } from './config.js';

/** Tensors HF stores as non-parameter buffers in some checkpoints; loaders skip them (as transformers does). */
export const IGNORED_BUFFER = /\.rotary_emb\.inv_freq$/;

/** Every tensor the model needs, by HF name, with its HF shape ([out, in] for linears). */
export function expectedShapes(
  dims: Dims,
  withLMHead: boolean,
  tied: boolean,
): Map<string, number[]> {
  const { vocab, hidden, intermediate, heads, kvHeads, headDim } = dims;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [vocab, hidden]);
  for (let i = 0; i < dims.layers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden]);
    m.set(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden]);
    m.set(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden]);
    m.set(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim]);
    m.set(`${p}.mlp.gate_proj.weight`, [intermediate, hidden]);
    m.set(`${p}.mlp.up_proj.weight`, [intermediate, hidden]);
    m.set(`${p}.mlp.down_proj.weight`, [hidden, intermediate]);
    m.set(`${p}.input_layernorm.weight`, [hidden]);
    m.set(`${p}.post_attention_layernorm.weight`, [hidden]);
  }
  m.set('model.norm.weight', [hidden]);
  if (withLMHead && !tied) m.set('lm_head.weight', [vocab, hidden]);
  return m;
}

/**
 * Compares the tensors a checkpoint offers with what the model needs and throws
 * ONE error listing every missing, unexpected and mis-shaped tensor.
 * `extra` names are required too (any shape); `ignore` names are skipped.
 */
export function checkTensorSet(
  offered: Map<string, number[]>,
  expected: Map<string, number[]>,
  extra: readonly string[],
  ignore: (name: string) => boolean,
  file: string,
): void {
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const got = offered.get(name);
    if (!got) problems.push(`missing ${name} [${shape}]`);
    else if (got.join() !== shape.join())
      problems.push(`${name}: shape [${got}], expected [${shape}]`);
  }
  for (const name of extra)
    if (!offered.has(name)) problems.push(`missing ${name} (asked for in extraTensors)`);
  for (const name of offered.keys()) {
    if (!expected.has(name) && !extra.includes(name) && !ignore(name))
      problems.push(`unexpected ${name}`);
  }
  if (problems.length > 0) {
    throw new RemaxError(
      'E_CHECKPOINT',
      `checkpoint does not match the config:\n  - ${problems.join('\n  - ')}`,
      {
        file,
      },
    );
  }
}
