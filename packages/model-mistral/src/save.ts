import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemaxError, type tf } from '@remax/core';
import { type DType, saveSharded, type TensorEntry } from '@remax/safetensors';
import type { CausalLMConfig } from './config.js';

export interface SaveOptions {
  dtype: 'bfloat16' | 'float16' | 'float32';
  /** Shard size limit in bytes; Hugging Face's default "5GB" (5e9). */
  maxShardBytes?: number;
  /** A folder to copy tokenizer files from (tokenizer.model, tokenizer.json, ...). */
  tokenizerFrom?: string;
}

const DTYPES: Record<SaveOptions['dtype'], DType> = {
  bfloat16: 'BF16',
  float16: 'F16',
  float32: 'F32',
};

/** Files transformers' tokenizers read; the ones present in tokenizerFrom are copied. */
const TOKENIZER_FILES = [
  'tokenizer.model',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
];

/**
 * Writes a Hugging Face checkpoint folder: config.json (torch_dtype set to the
 * saved dtype), model.safetensors or model-0000i-of-0000n.safetensors + index,
 * and the tokenizer files when asked. Weights are already in HF layout.
 */
export async function saveCheckpoint(
  dir: string,
  config: CausalLMConfig,
  tensors: Map<string, tf.Variable>,
  options: SaveOptions,
): Promise<void> {
  const dtype = DTYPES[options.dtype];
  if (!dtype) {
    throw new RemaxError('E_INPUT', 'unsupported save dtype', {
      field: 'dtype',
      value: options.dtype,
      expected: Object.keys(DTYPES).join(' | '),
    });
  }
  let tokenizerFiles: string[] = [];
  if (options.tokenizerFrom !== undefined) {
    let present: string[];
    try {
      present = await readdir(options.tokenizerFrom);
    } catch (cause) {
      throw new RemaxError('E_FILE', 'cannot read the tokenizer folder', {
        file: options.tokenizerFrom,
        cause,
      });
    }
    tokenizerFiles = TOKENIZER_FILES.filter((f) => present.includes(f));
    if (tokenizerFiles.length === 0) {
      throw new RemaxError('E_FILE', 'no tokenizer files in folder', {
        file: options.tokenizerFrom,
        expected: `one of ${TOKENIZER_FILES.join(', ')}`,
      });
    }
  }
  const entries = new Map<string, TensorEntry>();
  for (const [name, v] of tensors) {
    entries.set(name, { dtype, shape: [...v.shape], data: (await v.data()) as Float32Array });
  }
  await mkdir(dir, { recursive: true });
  await saveSharded(dir, entries, { maxShardBytes: options.maxShardBytes ?? 5_000_000_000 });
  await writeFile(
    join(dir, 'config.json'),
    `${JSON.stringify({ ...config, torch_dtype: options.dtype }, null, 2)}\n`,
  );
  for (const f of tokenizerFiles)
    await copyFile(join(options.tokenizerFrom as string, f), join(dir, f));
}
