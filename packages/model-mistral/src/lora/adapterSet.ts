import { RemaxError, tf } from '@remax/core';
import type { PeftLoraConfig } from './peftConfig.js';

/** One adapted linear: A [r, in] and B [out, r] (PEFT's lora_A / lora_B weights). */
export interface LoraPair {
  A: tf.Variable;
  B: tf.Variable;
}

/** The seven projections of a decoder layer, by HF module suffix. */
export const PROJECTIONS = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
] as const;

/** HF module names of every projection of every layer, e.g. model.layers.0.self_attn.q_proj. */
export function projectionModules(layers: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < layers; i++) for (const p of PROJECTIONS) out.push(`model.layers.${i}.${p}`);
  return out;
}

/** The key PEFT's get_peft_model_state_dict gives a factor (adapter name "default" stripped). */
export function peftKey(module: string, factor: 'A' | 'B'): string {
  return `base_model.model.${module}.lora_${factor}.weight`;
}

/**
 * The adapters attached to a model: one (A, B) pair per targeted module, one scaling,
 * and an on/off switch (off = the base model, i.e. the reference policy).
 */
export class AdapterSet {
  enabled = true;

  constructor(
    /** The full PEFT config (what saveAdapter writes). */
    readonly config: PeftLoraConfig,
    readonly scaling: number,
    /** By HF module name. */
    readonly pairs: Map<string, LoraPair>,
  ) {}

  /** The trainable tensors by PEFT key, A before B per module. */
  parameters(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [m, { A, B }] of this.pairs) {
      out.set(peftKey(m, 'A'), A);
      out.set(peftKey(m, 'B'), B);
    }
    return out;
  }

  dispose(): void {
    for (const { A, B } of this.pairs.values()) tf.dispose([A, B]);
    this.pairs.clear();
  }
}

/** Runs fn with `set` switched off, restoring it when fn returns or its promise settles. */
export function runDisabled<R>(set: AdapterSet | null, fn: () => R): R {
  if (set === null) {
    throw new RemaxError('E_STATE', 'withAdaptersDisabled: the model has no adapters', {
      expected: 'addLoRA() or loadAdapter() first',
    });
  }
  const was = set.enabled;
  set.enabled = false;
  let result: R;
  try {
    result = fn();
  } catch (e) {
    set.enabled = was;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      set.enabled = was;
    }) as R;
  }
  set.enabled = was;
  return result;
}
