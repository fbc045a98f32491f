import type { DecodingModel } from '../model.js';
import type { ServedModel, ServeTokenizer } from './completions.js';

/** What `servedCausalLM` reads from a causal LM (@remax/model-mistral's CausalLM fits). */
export interface ServableLM extends DecodingModel {
  readonly vocabSize: number;
  readonly config: { max_position_embeddings: number; eos_token_id?: unknown };
}

/**
 * A causal LM and its tokenizer as `startServer`'s model: EOS from the
 * tokenizer and config.json, max_model_len = max_position_embeddings.
 */
export function servedCausalLM(
  name: string,
  root: string,
  model: ServableLM,
  tokenizer: ServeTokenizer & { readonly eosId: number },
): ServedModel & { model: DecodingModel; padId: number } {
  const eos = [tokenizer.eosId];
  const configEos = model.config.eos_token_id;
  if (typeof configEos === 'number' && configEos !== tokenizer.eosId) eos.push(configEos);
  return {
    name,
    root,
    model,
    tokenizer,
    vocabSize: model.vocabSize,
    eosTokenIds: eos,
    maxModelLen: model.config.max_position_embeddings,
    padId: 0,
  };
}
