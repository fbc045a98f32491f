import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseWith, RemaxError } from '@remax/core';
import { z } from 'zod';

/** model.safetensors.index.json / pytorch_model.bin.index.json, as Hugging Face writes them. */
const ShardIndexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string()),
});

export type ShardIndex = z.output<typeof ShardIndexSchema>;

export interface ResolvedShardIndex {
  index: ShardIndex;
  /** Absolute-or-relative paths of the distinct shard files, in first-mention order. */
  shardFiles: string[];
  /** Tensor name -> shard path. */
  shardOf: Map<string, string>;
}

export async function readShardIndex(indexFile: string): Promise<ResolvedShardIndex> {
  let text: string;
  try {
    text = await readFile(indexFile, 'utf8');
  } catch (cause) {
    throw new RemaxError('E_FILE', 'cannot read shard index', { file: indexFile, cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new RemaxError('E_FORMAT', 'shard index is not valid JSON', { file: indexFile, cause });
  }
  const index = parseWith(ShardIndexSchema, json, {
    file: indexFile,
    what: 'shard index',
    code: 'E_FORMAT',
  });
  const dir = dirname(indexFile);
  const shardOf = new Map<string, string>();
  const shardFiles: string[] = [];
  for (const [name, shard] of Object.entries(index.weight_map)) {
    // Shard names are plain file names next to the index; anything else could escape the folder.
    if (shard === '' || basename(shard) !== shard || shard === '.' || shard === '..') {
      throw new RemaxError('E_FORMAT', 'shard index names a shard outside its folder', {
        file: indexFile,
        field: `weight_map.${name}`,
        value: shard,
        expected: 'a file name in the same folder',
      });
    }
    const path = join(dir, shard);
    if (!shardFiles.includes(path)) shardFiles.push(path);
    shardOf.set(name, path);
  }
  return { index, shardFiles, shardOf };
}
