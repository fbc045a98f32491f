import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { tf } from '@remax/core';
import { type DType, saveSharded, type TensorEntry } from '@remax/safetensors';
import { TOKENIZER_SIDE_FILES } from './rewardCheckpoint.js';

/** How a reward or value model is written: the dtype of the weights and the shard size. */
export interface SaveOptions {
  /** Default 'float32'; 'bfloat16' / 'float16' round to nearest even. */
  dtype?: 'float32' | 'bfloat16' | 'float16';
  /** Largest shard in bytes (default 5 GB, transformers' default max_shard_size). */
  maxShardBytes?: number;
}

const DTYPES: Record<NonNullable<SaveOptions['dtype']>, DType> = {
  float32: 'F32',
  bfloat16: 'BF16',
  float16: 'F16',
};

/**
 * Writes a Hugging Face LlamaRewardModel directory: config.json (the source's
 * keys verbatim, `architectures` and `torch_dtype` set), sharded safetensors +
 * index with HF names (backbone + regression_head.weight), and the tokenizer
 * files of `sourceDir`, so `loadRewardModel` / `loadValueModel` read it back.
 */
export async function saveRewardDirectory(
  dir: string,
  parts: {
    parameters: Map<string, tf.Variable>;
    rawConfig: Record<string, unknown>;
    sourceDir: string;
  },
  options: SaveOptions = {},
): Promise<void> {
  const dtype = options.dtype ?? 'float32';
  await mkdir(dir, { recursive: true });
  const tensors = new Map<string, TensorEntry>();
  for (const [name, variable] of parts.parameters) {
    tensors.set(name, {
      dtype: DTYPES[dtype],
      shape: variable.shape.slice(),
      data: (await variable.data()) as Float32Array,
    });
  }
  await saveSharded(dir, tensors, {
    maxShardBytes: options.maxShardBytes ?? 5_000_000_000,
    metadata: { format: 'pt' },
  });
  const config = { ...parts.rawConfig, architectures: ['LlamaRewardModel'], torch_dtype: dtype };
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  if (resolve(dir) !== resolve(parts.sourceDir)) {
    for (const file of TOKENIZER_SIDE_FILES) {
      const from = join(parts.sourceDir, file);
      if (existsSync(from)) await copyFile(from, join(dir, file));
    }
  }
}
