export type { AttentionMatMul } from './attention.js';
export { SMALL_LLAMA_CONFIG, SMALL_MISTRAL_CONFIG } from './benchShapes.js';
export { CausalLM, type CausalLMOptions, type ForwardArgs } from './causalLM.js';
export {
  type CausalLMConfig,
  CausalLMConfigSchema,
  type LlamaConfig,
  LlamaConfigSchema,
  type MistralConfig,
  MistralConfigSchema,
  parseCausalLMConfig,
} from './config.js';
export { type CreateOptions, createCausalLM } from './create.js';
export type { TokenMatrix } from './inputs.js';
export type { KVCache } from './kvCache.js';
export { type LoadOptions, loadCausalLM } from './load.js';
export {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  type AdapterSet,
  type AddLoRAOptions,
  AddLoRAOptionsSchema,
  adapterPolicy,
  adaptersDisabledPolicy,
  addLoRA,
  type LoraPair,
  loadAdapter,
  loraScaling,
  mergeAdapters,
  PEFT_LORA_DEFAULTS,
  PEFT_VERSION,
  type PeftLoraConfig,
  PROJECTIONS,
  parsePeftConfig,
  peftKey,
  type SaveAdapterOptions,
  saveAdapter,
} from './lora/index.js';
export type { SaveOptions } from './save.js';
