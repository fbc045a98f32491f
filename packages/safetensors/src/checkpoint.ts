import { type FileHandle, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RemaxError } from '@remax/core';
import type { DType, TypedArray } from './dtype.js';
import { openSafetensorsFile } from './safetensorsFile.js';
import { readShardIndex } from './shardIndex.js';
import { readTensor } from './tensorRead.js';
import type { TensorSource } from './tensorSource.js';
import { openTorchBin } from './torchBin.js';

export interface TensorInfo {
  dtype: DType;
  shape: number[];
}

export interface ReadOptions {
  /** Convert to float32 whatever the stored dtype (BF16/F16 exactly, integers by value). */
  as?: 'float32';
  /**
   * Fill this array and return it instead of allocating one, so a loader can reuse memory:
   * exactly the array type `read` would return (Float32Array with `as: 'float32'`) and the
   * tensor's element count, else E_INPUT / E_SHAPE. After a failed read its contents are
   * unspecified.
   */
  into?: TypedArray;
}

/** One interface over every checkpoint layout; tensors are read lazily, one at a time. */
export interface Checkpoint {
  /** The file or folder that was opened. */
  readonly path: string;
  names(): string[];
  info(name: string): TensorInfo;
  read(name: string, options?: ReadOptions): Promise<TypedArray>;
  close(): Promise<void>;
}

/** File names looked for in a folder, in order: safetensors wins over .bin. */
const DIRECTORY_CANDIDATES = [
  'model.safetensors.index.json',
  'model.safetensors',
  'pytorch_model.bin.index.json',
  'pytorch_model.bin',
];

/**
 * Opens a single .safetensors file, a sharded folder or index (model.safetensors.index.json),
 * a PyTorch .bin file or sharded .bin (pytorch_model.bin.index.json). Only headers, zip
 * directories and pickles are read here; tensor bytes are read by `read`.
 */
export async function openCheckpoint(pathOrDir: string): Promise<Checkpoint> {
  const stats = await statOrThrow(pathOrDir);
  let file = pathOrDir;
  if (stats.isDirectory()) {
    const found = await firstExisting(DIRECTORY_CANDIDATES.map((n) => join(pathOrDir, n)));
    if (found === undefined) {
      throw new RemaxError('E_FILE', 'no checkpoint found in folder', {
        file: pathOrDir,
        expected: `one of ${DIRECTORY_CANDIDATES.join(', ')}`,
      });
    }
    file = found;
  }
  const sources = new Map<string, TensorSource>();
  const sourceOf = new Map<string, TensorSource>();
  try {
    if (file.endsWith('.index.json')) {
      const { shardFiles, shardOf } = await readShardIndex(file);
      for (const shard of shardFiles) {
        if ((await firstExisting([shard])) === undefined) {
          throw new RemaxError('E_FILE', 'shard index names a missing shard', {
            file,
            value: shard,
          });
        }
      }
      for (const shard of shardFiles) sources.set(shard, await openSource(shard));
      for (const [name, shard] of shardOf) {
        const source = sources.get(shard)!;
        if (source.locate(name) === undefined) {
          throw new RemaxError('E_CHECKPOINT', 'shard index maps a tensor to a shard without it', {
            file,
            field: name,
            value: shard,
          });
        }
        sourceOf.set(name, source);
      }
    } else {
      const source = await openSource(file);
      sources.set(file, source);
      for (const name of source.names()) sourceOf.set(name, source);
    }
  } catch (e) {
    await Promise.allSettled([...sources.values()].map((s) => s.close()));
    throw e;
  }
  return makeCheckpoint(pathOrDir, sources, sourceOf);
}

function makeCheckpoint(
  path: string,
  sources: Map<string, TensorSource>,
  sourceOf: Map<string, TensorSource>,
): Checkpoint {
  let closed = false;
  const locate = (name: string) => {
    if (closed)
      throw new RemaxError('E_STATE', 'checkpoint is closed', { file: path, field: name });
    const loc = sourceOf.get(name)?.locate(name);
    if (loc === undefined) {
      throw new RemaxError('E_CHECKPOINT', 'no tensor with this name in the checkpoint', {
        file: path,
        field: name,
        expected: `one of ${sourceOf.size} names (see names())`,
      });
    }
    return loc;
  };
  return {
    path,
    names: () => [...sourceOf.keys()],
    info(name) {
      const { dtype, shape } = locate(name);
      return { dtype, shape: [...shape] };
    },
    read: async (name, options = {}) =>
      readTensor(name, locate(name), options.as === 'float32', { into: options.into }),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...sources.values()].map((s) => s.close()));
    },
  };
}

async function openSource(file: string): Promise<TensorSource> {
  if (file.endsWith('.safetensors')) return openSafetensorsFile(file);
  if (/\.(bin|pt|pth)$/.test(file)) return openTorchBin(file);
  // Unknown extension: a zip archive is a PyTorch file, anything else is tried as safetensors.
  return (await startsWithZipMagic(file)) ? openTorchBin(file) : openSafetensorsFile(file);
}

async function startsWithZipMagic(file: string): Promise<boolean> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const magic = new Uint8Array(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    return (
      bytesRead === 4 && magic[0] === 0x50 && magic[1] === 0x4b && magic[2] === 3 && magic[3] === 4
    );
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

async function statOrThrow(path: string) {
  try {
    return await stat(path);
  } catch (cause) {
    throw new RemaxError('E_FILE', 'checkpoint path does not exist', { file: path, cause });
  }
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    try {
      if ((await stat(p)).isFile()) return p;
    } catch {
      // not there: try the next one
    }
  }
  return undefined;
}
