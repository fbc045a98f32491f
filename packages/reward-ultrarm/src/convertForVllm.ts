// UltraRM for vLLM: `LlamaRewardModel` (a Llama backbone + `regression_head`)
// is not a vLLM architecture, but it is exactly HF's
// `LlamaForSequenceClassification` with one label: same backbone tensor names
// (`model.*`), the head renamed `score.weight`. vLLM serves that with its
// pooling runner (`--runner pooling`, POST /classify, raw score with
// `use_activation: false`). Tensors are copied byte for byte, shard by shard,
// so a 13B model never has to fit in memory at once.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemaxError } from '@remax/core';
import {
  bytesPerElement,
  openCheckpoint,
  type TensorEntry,
  writeSafetensors,
} from '@remax/safetensors';
import {
  inspectRewardCheckpoint,
  REGRESSION_HEAD,
  SCORE_HEAD,
  TOKENIZER_SIDE_FILES,
} from './rewardCheckpoint.js';

export interface ConvertOptions {
  /** Largest shard in bytes (default 5 GB, transformers' max_shard_size). */
  maxShardBytes?: number;
}

export interface ConvertResult {
  outDir: string;
  tensors: number;
  files: string[];
}

/**
 * Writes `outDir`: config.json with `architectures: ["LlamaForSequenceClassification"]`,
 * `num_labels: 1` (id2label {0: "LABEL_0"}), every other key of the source
 * verbatim; safetensors with the same tensors in their stored dtype,
 * `regression_head.weight` renamed `score.weight`; the tokenizer files.
 */
export async function convertUltraRMForVllm(
  srcDir: string,
  outDir: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  const info = await inspectRewardCheckpoint(srcDir, { needTokenizer: true });
  if (info.headName !== REGRESSION_HEAD) {
    throw new RemaxError('E_CHECKPOINT', 'the source is already a sequence classifier', {
      file: srcDir,
      field: info.headName,
      expected: `a LlamaRewardModel with ${REGRESSION_HEAD}`,
    });
  }
  const maxShardBytes = options.maxShardBytes ?? 5_000_000_000;
  await mkdir(outDir, { recursive: true });
  const checkpoint = await openCheckpoint(srcDir);
  try {
    const names = checkpoint.names();
    const shards: string[][] = [[]];
    let size = 0;
    for (const name of names) {
      const { dtype, shape } = checkpoint.info(name);
      const bytes = shape.reduce((a, b) => a * b, 1) * bytesPerElement(dtype);
      if (size > 0 && size + bytes > maxShardBytes) {
        shards.push([]);
        size = 0;
      }
      shards.at(-1)?.push(name);
      size += bytes;
    }
    const fileOf = (i: number) =>
      shards.length === 1
        ? 'model.safetensors'
        : `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const weightMap: Record<string, string> = {};
    let totalSize = 0;
    const files: string[] = [];
    for (const [i, shard] of shards.entries()) {
      const tensors = new Map<string, TensorEntry>();
      for (const name of shard) {
        const { dtype, shape } = checkpoint.info(name);
        const data = await checkpoint.read(name);
        const out = name === REGRESSION_HEAD ? SCORE_HEAD : name;
        tensors.set(out, { dtype, shape, data });
        weightMap[out] = fileOf(i);
        totalSize += data.byteLength;
      }
      const path = join(outDir, fileOf(i));
      await writeSafetensors(path, tensors, { format: 'pt' });
      files.push(path);
    }
    if (shards.length > 1) {
      const index = join(outDir, 'model.safetensors.index.json');
      await writeFile(
        index,
        `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`,
      );
      files.push(index);
    }
    const config = {
      ...info.rawConfig,
      architectures: ['LlamaForSequenceClassification'],
      num_labels: 1,
      id2label: { '0': 'LABEL_0' },
      label2id: { LABEL_0: 0 },
    };
    await writeFile(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    for (const file of TOKENIZER_SIDE_FILES) {
      const from = join(srcDir, file);
      if (existsSync(from)) await copyFile(from, join(outDir, file));
    }
    return { outDir, tensors: names.length, files };
  } finally {
    await checkpoint.close();
  }
}
