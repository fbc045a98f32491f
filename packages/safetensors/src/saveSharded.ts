// Sharded checkpoints as transformers' save_pretrained writes them: greedy split in the
// tensors' order (huggingface_hub split_state_dict_into_shards), shards named
// model-00001-of-0000N.safetensors and an index with sorted keys, indent 2, ASCII escapes.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemaxError } from '@remax/core';
import { writeSafetensors } from './safetensorsWriter.js';
import { storedBytes, type TensorEntry, validateEntry } from './tensorEntry.js';

export interface SaveShardedOptions {
  /** A shard holds at most this many bytes of tensor data (a bigger tensor gets its own shard). */
  maxShardBytes: number;
  /** Extra `__metadata__` for every shard, on top of {"format": "pt"}. */
  metadata?: Record<string, string>;
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
const SHARD_PATTERN = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Splits names into shards exactly like huggingface_hub does. */
export function planShards(tensors: Map<string, TensorEntry>, maxShardBytes: number): string[][] {
  const shards: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  for (const [name, entry] of tensors) {
    const size = storedBytes(entry);
    if (size > maxShardBytes) {
      shards.push([name]);
      continue;
    }
    if (currentBytes + size > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(name);
    currentBytes += size;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

export function shardFileName(index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/** JSON text as Python's json.dumps(obj, indent=2, sort_keys=True) + "\n" writes it. */
export function pythonJsonDumps(value: unknown): string {
  const sortDeep = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortDeep);
    if (v !== null && typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(obj)
          .sort()
          .map((k) => [k, sortDeep(obj[k])]),
      );
    }
    return v;
  };
  const text = JSON.stringify(sortDeep(value), null, 2);
  // ensure_ascii=True: every non-ASCII UTF-16 unit becomes \uXXXX.
  return `${text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

/**
 * Writes `tensors` into `dir` as one model.safetensors when they fit in `maxShardBytes`, or as
 * model-0000i-of-0000N.safetensors shards plus model.safetensors.index.json. Files of an
 * earlier save with those names that the new save does not use are removed, so the folder
 * never mixes two checkpoints. Returns the paths written (the index last).
 */
export async function saveSharded(
  dir: string,
  tensors: Map<string, TensorEntry>,
  options: SaveShardedOptions,
): Promise<{ files: string[] }> {
  const { maxShardBytes, metadata } = options;
  if (!(Number.isSafeInteger(maxShardBytes) && maxShardBytes > 0)) {
    throw new RemaxError('E_INPUT', 'maxShardBytes must be a positive integer', {
      field: 'maxShardBytes',
      value: maxShardBytes,
    });
  }
  for (const [name, entry] of tensors) validateEntry(name, entry, dir);
  await mkdir(dir, { recursive: true });

  const shards = planShards(tensors, maxShardBytes);
  const names =
    shards.length <= 1 ? [SINGLE_FILE] : shards.map((_, i) => shardFileName(i, shards.length));
  const written: string[] = [];
  for (let i = 0; i < Math.max(1, shards.length); i++) {
    const shard = new Map((shards[i] ?? []).map((n) => [n, tensors.get(n)!]));
    const path = join(dir, names[i]!);
    await writeSafetensors(path, shard, metadata);
    written.push(path);
  }
  if (shards.length > 1) {
    let totalSize = 0;
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      for (const name of shard) {
        weightMap[name] = names[i]!;
        totalSize += storedBytes(tensors.get(name)!);
      }
    });
    const indexPath = join(dir, INDEX_FILE);
    await writeFile(
      indexPath,
      pythonJsonDumps({ metadata: { total_size: totalSize }, weight_map: weightMap }),
    );
    written.push(indexPath);
  }
  await removeStaleFiles(dir, new Set([...names, ...(shards.length > 1 ? [INDEX_FILE] : [])]));
  return { files: written };
}

async function removeStaleFiles(dir: string, keep: Set<string>): Promise<void> {
  for (const name of await readdir(dir)) {
    if (keep.has(name)) continue;
    if (name === SINGLE_FILE || name === INDEX_FILE || SHARD_PATTERN.test(name)) {
      await rm(join(dir, name), { force: true });
    }
  }
}
