import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint, saveSharded, type TensorEntry } from '../src/index.js';
import { pythonJsonDumps } from '../src/saveSharded.js';
import { withTempDir } from './tmpDir.js';

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function sample(): Map<string, TensorEntry> {
  return new Map<string, TensorEntry>([
    ['a', { dtype: 'F32', shape: [4], data: Float32Array.from([1, 2, 3, 4]) }],
    [
      'b',
      { dtype: 'BF16', shape: [10], data: Uint16Array.from({ length: 10 }, (_, i) => 0x3f80 + i) },
    ],
    ['c', { dtype: 'F32', shape: [10], data: Float32Array.from({ length: 10 }, (_, i) => -i) }],
    ['d', { dtype: 'U8', shape: [2, 4], data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) }],
  ]);
}

describe('saveSharded', () => {
  it('splits greedily like huggingface_hub and writes the index as transformers does', async () => {
    await withTempDir(async (dir) => {
      // 16 + 20 > 32 closes shard 1; c (40 B) is bigger than the limit and gets its own
      // shard while b stays open, so d joins b: [a], [c], [b, d].
      const { files } = await saveSharded(dir, sample(), { maxShardBytes: 32 });
      expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
        'model-00001-of-00003.safetensors',
        'model-00002-of-00003.safetensors',
        'model-00003-of-00003.safetensors',
        'model.safetensors.index.json',
      ]);
      const index = await readFile(join(dir, 'model.safetensors.index.json'), 'utf8');
      expect(index).toBe(
        [
          '{',
          '  "metadata": {',
          '    "total_size": 84',
          '  },',
          '  "weight_map": {',
          '    "a": "model-00001-of-00003.safetensors",',
          '    "b": "model-00003-of-00003.safetensors",',
          '    "c": "model-00002-of-00003.safetensors",',
          '    "d": "model-00003-of-00003.safetensors"',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      const ckpt = await openCheckpoint(dir);
      try {
        for (const [name, t] of sample()) {
          expect(ckpt.info(name)).toEqual({ dtype: t.dtype, shape: t.shape });
          expect(bytesOf(await ckpt.read(name)).equals(bytesOf(t.data))).toBe(true);
        }
      } finally {
        await ckpt.close();
      }
    });
  });

  it('writes one model.safetensors when everything fits and removes a stale sharded save', async () => {
    await withTempDir(async (dir) => {
      await saveSharded(dir, sample(), { maxShardBytes: 32 });
      await writeFile(join(dir, 'config.json'), '{}');
      const { files } = await saveSharded(dir, sample(), { maxShardBytes: 1000 });
      expect(files).toEqual([join(dir, 'model.safetensors')]);
      expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
      const ckpt = await openCheckpoint(dir);
      expect(ckpt.names().sort()).toEqual(['a', 'b', 'c', 'd']);
      await ckpt.close();
    });
  });

  it('escapes non-ASCII names in the index like Python json.dumps', () => {
    expect(pythonJsonDumps({ weight_map: { 'é😀': 'x' } })).toBe(
      '{\n  "weight_map": {\n    "\\u00e9\\ud83d\\ude00": "x"\n  }\n}\n',
    );
  });

  it('rejects a non-positive maxShardBytes', async () => {
    await expect(saveSharded('/nonexistent', sample(), { maxShardBytes: 0 })).rejects.toThrow(
      /maxShardBytes/,
    );
  });
});
