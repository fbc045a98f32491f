import { RemaxError } from '@remax/core';
import type { CausalLM } from '../causalLM.js';
import { projectionModules } from './adapterSet.js';
import { moduleMatcher, type PeftLoraConfig } from './peftConfig.js';

/** One module to adapt: its HF name and its base weight's [out, in]. */
export interface TargetModule {
  module: string;
  out: number;
  in: number;
}

/**
 * The projections `cfg` targets on `model`, in layer order. A listed target that names
 * no projection (e.g. lm_head or embed_tokens, which this implementation does not adapt)
 * is an error rather than silently dropped, as is a config that matches nothing.
 */
export function resolveTargets(
  model: CausalLM,
  cfg: PeftLoraConfig,
  file?: string,
): TargetModule[] {
  const candidates = projectionModules(model.dims.layers);
  const matches = moduleMatcher(cfg, model.config.model_type);
  const chosen = candidates.filter(matches);
  const listed = Array.isArray(cfg.target_modules) ? cfg.target_modules : [];
  for (const t of listed) {
    if (!candidates.some((m) => m === t || m.endsWith(`.${t}`))) {
      throw new RemaxError('E_UNSUPPORTED', 'target module is not a decoder projection', {
        file,
        field: 'target_modules',
        value: t,
        expected: 'q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj or down_proj',
      });
    }
  }
  if (chosen.length === 0) {
    throw new RemaxError('E_CONFIG', 'target_modules matches no module of the model', {
      file,
      field: 'target_modules',
      value: cfg.target_modules,
      expected: 'names such as q_proj or v_proj',
    });
  }
  const params = model.parameters();
  return chosen.map((module) => {
    const w = params.get(`${module}.weight`);
    if (w === undefined) {
      throw new RemaxError('E_STATE', 'model has no weight for a targeted module', {
        field: `${module}.weight`,
      });
    }
    const [out, inDim] = w.shape as [number, number];
    return { module, out, in: inDim };
  });
}
