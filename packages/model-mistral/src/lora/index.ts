export {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  loadAdapter,
  type SaveAdapterOptions,
  saveAdapter,
} from './adapterFiles.js';
export { type AdapterSet, type LoraPair, PROJECTIONS, peftKey } from './adapterSet.js';
export { type AddLoRAOptions, AddLoRAOptionsSchema, addLoRA } from './addLoRA.js';
export { mergeAdapters } from './merge.js';
export {
  loraScaling,
  PEFT_LORA_DEFAULTS,
  PEFT_VERSION,
  type PeftLoraConfig,
  parsePeftConfig,
} from './peftConfig.js';
export { adapterPolicy, adaptersDisabledPolicy } from './policyViews.js';
