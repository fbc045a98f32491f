import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bf16BitsToFloat32, f16BitsToFloat32 } from '../src/halfFloat.js';
import { openCheckpoint, writeSafetensors } from '../src/index.js';
import { openSafetensorsFile } from '../src/safetensorsFile.js';
import { readTensor } from '../src/tensorRead.js';
import { withTempDir } from './tmpDir.js';

const N = 100_003; // odd: the scalar path; `bfEven` (N - 1) takes the paired bf16 path

describe('readTensor: fast paths equal the naive element-by-element conversion', () => {
  it('BF16/F16 in-place widening, chunked integer conversion', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 't.safetensors');
      const bits = Uint16Array.from({ length: N }, (_, i) => (i * 2654435761) >>> 16);
      const ints = Int16Array.from({ length: N }, (_, i) => ((i * 40503) & 0xffff) - 32768);
      const longs = BigInt64Array.from({ length: N }, (_, i) => BigInt(i) * 1_000_003n - 7n);
      await writeSafetensors(file, {
        bf: { dtype: 'BF16', shape: [N], data: bits },
        bfEven: { dtype: 'BF16', shape: [N - 1], data: bits.subarray(0, N - 1) },
        h: { dtype: 'F16', shape: [N], data: bits },
        i16: { dtype: 'I16', shape: [N], data: ints },
        i64: { dtype: 'I64', shape: [N], data: longs },
      });
      const source = await openSafetensorsFile(file);
      try {
        const bf = (await readTensor('bf', source.locate('bf')!, true)) as Float32Array;
        // bf16 -> f32 is the bit pattern shifted up (exact, NaN payloads included) ...
        const shifted = Uint32Array.from(bits, (b) => b * 65536);
        expect(Buffer.from(bf.buffer).equals(Buffer.from(shifted.buffer))).toBe(true);
        const bfEven = (await readTensor('bfEven', source.locate('bfEven')!, true)) as Float32Array;
        const shiftedEven = shifted.subarray(0, N - 1);
        expect(
          Buffer.from(bfEven.buffer).equals(
            Buffer.from(shiftedEven.buffer, 0, shiftedEven.byteLength),
          ),
        ).toBe(true);
        // ... and, as numbers, what the scalar decoder gives.
        for (let i = 0; i < N; i += 997) {
          const v = bf16BitsToFloat32(bits[i]!);
          expect(Object.is(bf[i], v) || (Number.isNaN(bf[i]!) && Number.isNaN(v))).toBe(true);
        }
        const h = (await readTensor('h', source.locate('h')!, true)) as Float32Array;
        const naiveH = Float32Array.from(bits, f16BitsToFloat32);
        // Compare NaN-insensitively here: the naive decoder yields a canonical NaN.
        for (let i = 0; i < N; i++) {
          if (!(Object.is(h[i], naiveH[i]) || (Number.isNaN(h[i]!) && Number.isNaN(naiveH[i]!)))) {
            throw new Error(`f16 element ${i}: ${h[i]} vs ${naiveH[i]}`);
          }
        }
        // A 1000-byte chunk forces many chunks (and a partial last one).
        const i16 = await readTensor('i16', source.locate('i16')!, true, 1000);
        expect(i16).toEqual(Float32Array.from(ints));
        const i64 = await readTensor('i64', source.locate('i64')!, true, 1000);
        expect(i64).toEqual(Float32Array.from(longs, (v) => Number(v)));
      } finally {
        await source.close();
      }
    });
  });
});

describe('resource leaks', () => {
  it('opening, reading, failing and closing repeatedly leaves no file descriptor open', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'ok.safetensors');
      await writeSafetensors(file, { a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
      const bad = join(dir, 'bad.safetensors');
      await writeSafetensors(bad, { a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
      await writeFile(bad, (await readFile(bad)).subarray(0, 30));
      const fds = async () => (await readdir('/proc/self/fd')).length;
      const round = async () => {
        const ckpt = await openCheckpoint(file);
        await ckpt.read('a');
        await ckpt.close();
        await openCheckpoint(bad).catch(() => undefined);
      };
      await round();
      const before = await fds();
      for (let i = 0; i < 20; i++) await round();
      expect(await fds()).toBe(before);
    });
  });
});
