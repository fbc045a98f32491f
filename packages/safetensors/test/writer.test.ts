import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint, type TensorEntry, writeSafetensors } from '../src/index.js';
import { encodeHeader, layoutOrder } from '../src/safetensorsWriter.js';
import { fixtureModel } from './paths.js';
import { withTempDir } from './tmpDir.js';

const f32 = (values: number[]) => Float32Array.from(values);
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('safetensors header encoding', () => {
  // Byte arrays from the reference implementation's own tests (huggingface/safetensors,
  // safetensors/src/tensor.rs: test_serialization, test_serialization_forced_alignement, test_empty).
  it('matches the reference bytes of a single F32 tensor', () => {
    const header = encodeHeader(
      [['attn.0', { dtype: 'F32', shape: [1, 2, 3], data: f32([0, 1, 2, 3, 4, 5]) }]],
      undefined,
    );
    const text = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.byteLength).toBe(8 + 64);
    expect([...header.subarray(0, 8)]).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(Buffer.from(header.subarray(8)).toString()).toBe(text);
  });

  it('pads the header with spaces to 8-byte alignment', () => {
    const header = encodeHeader(
      [['attn0', { dtype: 'F32', shape: [1, 1, 2, 3], data: f32([0, 1, 2, 3, 4, 5]) }]],
      undefined,
    );
    expect([...header.subarray(0, 8)]).toEqual([72, 0, 0, 0, 0, 0, 0, 0]);
    const text = Buffer.from(header.subarray(8)).toString();
    expect(text).toBe('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
  });

  it('writes __metadata__ first', () => {
    const header = encodeHeader([], { framework: 'pt' });
    expect([...header.subarray(0, 8)]).toEqual([40, 0, 0, 0, 0, 0, 0, 0]);
    expect(Buffer.from(header.subarray(8)).toString()).toBe(
      '{"__metadata__":{"framework":"pt"}}     ',
    );
  });

  it('orders tensors by dtype (widest first, reference order) then name', () => {
    const t = (dtype: TensorEntry['dtype']): TensorEntry => ({
      dtype,
      shape: [0],
      data: new Uint8Array(0),
    });
    const order = layoutOrder([
      ['b', t('F32')],
      ['a', t('BF16')],
      ['c', t('I64')],
      ['a2', t('F32')],
      ['z', t('BOOL')],
      ['y', t('F64')],
    ]).map(([n]) => n);
    expect(order).toEqual(['c', 'y', 'a2', 'b', 'a', 'z']);
  });
});

describe('writeSafetensors', () => {
  it('rewrites the tiny-mistral shards with identical tensor bytes and offsets', async () => {
    const shard = join(fixtureModel('tiny-mistral'), 'model-00002-of-00002.safetensors');
    const original = await readFile(shard);
    const ckpt = await openCheckpoint(shard);
    const tensors = new Map<string, TensorEntry>();
    for (const name of ckpt.names()) {
      const { dtype, shape } = ckpt.info(name);
      tensors.set(name, { dtype, shape, data: await ckpt.read(name) });
    }
    await ckpt.close();
    await withTempDir(async (dir) => {
      const out = join(dir, 'copy.safetensors');
      await writeSafetensors(out, tensors);
      const written = await readFile(out);
      const headerOf = (b: Buffer) => {
        const n = Number(b.readBigUInt64LE(0));
        return { n, json: JSON.parse(b.subarray(8, 8 + n).toString()) };
      };
      const a = headerOf(original);
      const b = headerOf(written);
      expect(b.json).toEqual(a.json);
      expect(b.n % 8).toBe(0);
      expect(written.subarray(8 + b.n).equals(original.subarray(8 + a.n))).toBe(true);
    });
  });

  it('round-trips every dtype bitwise (scalars and empty tensors too)', async () => {
    const tensors: Record<string, TensorEntry> = {
      f64: { dtype: 'F64', shape: [2, 2], data: Float64Array.from([1.5, -0, Number.NaN, 1e300]) },
      f32: { dtype: 'F32', shape: [3], data: f32([1, Number.NEGATIVE_INFINITY, 3.25]) },
      f16: { dtype: 'F16', shape: [2], data: Uint16Array.from([0x3c00, 0x7e01]) },
      bf16: { dtype: 'BF16', shape: [2, 1], data: Uint16Array.from([0x3f80, 0xff80]) },
      i64: { dtype: 'I64', shape: [2], data: BigInt64Array.from([-(2n ** 62n), 7n]) },
      i32: { dtype: 'I32', shape: [], data: Int32Array.from([-123456]) },
      i16: { dtype: 'I16', shape: [2], data: Int16Array.from([-32768, 32767]) },
      i8: { dtype: 'I8', shape: [3], data: Int8Array.from([-128, 0, 127]) },
      u8: { dtype: 'U8', shape: [2], data: Uint8Array.from([0, 255]) },
      bool: { dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    };
    await withTempDir(async (dir) => {
      const path = join(dir, 'all.safetensors');
      await writeSafetensors(path, tensors, { note: 'ünïcode' });
      const header = (await readFile(path)).subarray(8, 400).toString();
      expect(header).toContain('"__metadata__":{"format":"pt","note":"ünïcode"}');
      const ckpt = await openCheckpoint(path);
      try {
        expect([...ckpt.names()].sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors)) {
          expect(ckpt.info(name)).toEqual({ dtype: t.dtype, shape: t.shape });
          const back = await ckpt.read(name);
          expect(back.constructor).toBe(t.data.constructor);
          expect(bytesOf(back).equals(bytesOf(t.data))).toBe(true);
        }
        expect(await ckpt.read('i64', { as: 'float32' })).toEqual(f32([-(2 ** 62), 7]));
      } finally {
        await ckpt.close();
      }
    });
  });

  it('rounds Float32Array data to BF16/F16 on write (nearest even)', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'half.safetensors');
      const values = new Float32Array(new Uint32Array([0x3f808000, 0x3f818000, 0x7f800001]).buffer);
      await writeSafetensors(path, {
        b: { dtype: 'BF16', shape: [3], data: values },
        h: { dtype: 'F16', shape: [2], data: f32([65520, 1 / 3]) },
      });
      const ckpt = await openCheckpoint(path);
      expect([...(await ckpt.read('b'))]).toEqual([0x3f80, 0x3f82, 0x7fc0]);
      expect([...(await ckpt.read('h'))]).toEqual([0x7c00, 0x3555]);
      await ckpt.close();
    });
  });

  it('rejects bad entries before writing anything', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'bad.safetensors');
      const bad: Record<string, TensorEntry>[] = [
        { a: { dtype: 'F32', shape: [2], data: f32([1]) } },
        { a: { dtype: 'F32', shape: [1], data: Int32Array.from([1]) } },
        { a: { dtype: 'F8' as TensorEntry['dtype'], shape: [1], data: f32([1]) } },
        { a: { dtype: 'BOOL', shape: [1], data: Uint8Array.from([2]) } },
        { a: { dtype: 'F32', shape: [-1], data: f32([]) } },
      ];
      for (const tensors of bad) {
        await expect(writeSafetensors(path, tensors)).rejects.toThrow(/bad\.safetensors: a/);
      }
      await expect(readFile(path)).rejects.toThrow(/ENOENT/);
    });
  });
});

describe('writeSafetensors atomicity', () => {
  it('concurrent writes to one path leave one complete file and no temporary files', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'same.safetensors');
      await Promise.all(
        [1, 2, 3, 4].map((v) =>
          writeSafetensors(path, {
            a: { dtype: 'F32', shape: [1000], data: new Float32Array(1000).fill(v) },
          }),
        ),
      );
      expect(await readdir(dir)).toEqual(['same.safetensors']);
      const ckpt = await openCheckpoint(path);
      const a = (await ckpt.read('a')) as Float32Array;
      expect(new Set(a).size).toBe(1);
      await ckpt.close();
    });
  });
});
