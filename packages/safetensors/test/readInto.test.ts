import { join } from 'node:path';
import { isRemaxError, type RemaxErrorCode } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, openCheckpoint, writeSafetensors } from '../src/index.js';
import { testFixture } from './paths.js';
import { withTempDir } from './tmpDir.js';

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function withCheckpoint(body: (ckpt: Checkpoint, file: string) => Promise<void>) {
  await withTempDir(async (dir) => {
    const file = join(dir, 'into.safetensors');
    await writeSafetensors(file, {
      f32: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, -0, 7]) },
      bf: {
        dtype: 'BF16',
        shape: [5],
        data: Uint16Array.from([0x3f80, 0xc000, 0x7fc1, 1, 0x8000]),
      },
      h: { dtype: 'F16', shape: [3], data: Uint16Array.from([0x3c00, 0xc100, 0x7c00]) },
      i64: { dtype: 'I64', shape: [2], data: BigInt64Array.from([-5n, 1n << 40n]) },
    });
    const ckpt = await openCheckpoint(file);
    try {
      await body(ckpt, file);
    } finally {
      await ckpt.close();
    }
  });
}

describe('read(name, {into}): fills and returns the caller array', () => {
  it('equals a plain read for every path (F32, BF16/F16/I64 as float32, raw bits)', async () => {
    await withCheckpoint(async (ckpt) => {
      const cases: [string, boolean, () => ArrayBufferView][] = [
        ['f32', false, () => new Float32Array(6)],
        ['f32', true, () => new Float32Array(6)],
        ['bf', true, () => new Float32Array(5)],
        ['h', true, () => new Float32Array(3)],
        ['i64', true, () => new Float32Array(2)],
        ['bf', false, () => new Uint16Array(5)],
        ['i64', false, () => new BigInt64Array(2)],
      ];
      for (const [name, asFloat32, make] of cases) {
        const options = asFloat32 ? ({ as: 'float32' } as const) : {};
        const into = make() as Float32Array;
        const got = await ckpt.read(name, { ...options, into });
        expect(got, name).toBe(into);
        expect(bytesOf(got).equals(bytesOf(await ckpt.read(name, options))), name).toBe(true);
      }
    });
  });

  it('reuses one buffer across reads, through a subarray view at an offset', async () => {
    await withCheckpoint(async (ckpt) => {
      const pool = new Float32Array(16).fill(99);
      const a = await ckpt.read('bf', { as: 'float32', into: pool.subarray(3, 8) });
      expect([...a]).toEqual([1, -2, Number.NaN, bf16Smallest(), -0]);
      expect(new Uint32Array(pool.buffer, 20, 1)[0]).toBe(0x7fc10000); // NaN payload kept
      expect(pool[2]).toBe(99);
      expect(pool[8]).toBe(99);
      const b = await ckpt.read('f32', { into: pool.subarray(8, 14) });
      expect([...b]).toEqual([1, -2, 3.5, 0, -0, 7]);
      expect(pool[14]).toBe(99);
    });
  });

  it('works for strided and big-endian .bin views', async () => {
    const bin = await openCheckpoint(testFixture('cases-be.bin'));
    try {
      const t = await bin.read('transposed.f32', { into: new Float32Array(6) });
      expect([...t]).toEqual([-2, 2.5, -0.5, 4, 1, 5.5]);
      const bf = await bin.read('all.bf16', { as: 'float32', into: new Float32Array(3) });
      expect([...bf]).toEqual([1, -3.140625, Infinity]);
    } finally {
      await bin.close();
    }
  });
});

describe('read(name, {into}): a wrong array is a typed error naming the tensor', () => {
  it.each<[string, string, boolean, unknown, RemaxErrorCode, RegExp]>([
    [
      'Float64Array for float32',
      'bf',
      true,
      new Float64Array(5),
      'E_INPUT',
      /bf: read option `into` has the wrong array type \(got "Float64Array"\); expected a Float32Array of 5 elements \(BF16 \[5\] as float32\)/,
    ],
    [
      'too short',
      'f32',
      true,
      new Float32Array(5),
      'E_SHAPE',
      /f32: read option `into` has the wrong length \(got "5 elements"\); expected 6 elements \(F32 \[2,3\]\)/,
    ],
    [
      'too long',
      'bf',
      true,
      new Float32Array(6),
      'E_SHAPE',
      /expected 5 elements \(BF16 \[5\] as float32\)/,
    ],
    [
      'Float32Array for raw bf16 bits',
      'bf',
      false,
      new Float32Array(5),
      'E_INPUT',
      /expected a Uint16Array of 5 elements \(BF16 \[5\]\)/,
    ],
    ['a plain array', 'h', true, [0, 0, 0], 'E_INPUT', /got "Array"/],
    ['null', 'h', true, null, 'E_INPUT', /got "null"/],
  ])('%s', async (_, name, asFloat32, into, code, message) => {
    await withCheckpoint(async (ckpt, file) => {
      const options = { ...(asFloat32 ? { as: 'float32' as const } : {}), into } as never;
      const error = await ckpt.read(name, options).catch((e: unknown) => e);
      expect(isRemaxError(error, code), String(error)).toBe(true);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toMatch(message);
    });
  });
});

function bf16Smallest(): number {
  return new Float32Array(Uint32Array.of(1 << 16).buffer)[0]!;
}
