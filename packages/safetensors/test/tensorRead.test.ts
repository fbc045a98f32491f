import { execFile } from 'node:child_process';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isRemaxError } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { bf16BitsToFloat32, f16BitsToFloat32 } from '../src/halfFloat.js';
import { openCheckpoint, writeSafetensors } from '../src/index.js';
import { openSafetensorsFile } from '../src/safetensorsFile.js';
import { readTensor } from '../src/tensorRead.js';
import { withTempDir } from './tmpDir.js';

const N = 100_003; // odd: the scalar path; `bfEven` (N - 1) takes the paired bf16 path

describe('readTensor: fast paths equal the naive element-by-element conversion', () => {
  it('BF16/F16 widening, chunked integer conversion', async () => {
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
        const i16 = await readTensor('i16', source.locate('i16')!, true, { chunkBytes: 1000 });
        expect(i16).toEqual(Float32Array.from(ints));
        const i64 = await readTensor('i64', source.locate('i64')!, true, {
          chunkBytes: 1000,
        });
        expect(i64).toEqual(Float32Array.from(longs, (v) => Number(v)));
      } finally {
        await source.close();
      }
    });
  });
});

describe('BF16 -> float32: the wasm SIMD kernel and the JS loop give the shifted bits exactly', () => {
  // Every bf16 pattern (NaN payloads, signaling NaNs, subnormals, -0) in a scrambled order,
  // plus 7 more so the count is not a multiple of the kernel's 8 values.
  const count = 65536 + 7;
  const bits = Uint16Array.from({ length: count }, (_, i) => (i * 40503 + 11) & 0xffff);
  const shifted = Buffer.from(Uint32Array.from(bits, (b) => b * 65536).buffer);

  it.each([
    [true, 1 << 20, 'one chunk'],
    [true, 4096, 'many chunks, 16-byte multiples'],
    [true, 1002, 'chunks with a scalar tail each'],
    [true, 18, 'one vector and one scalar per chunk'],
    [false, 1 << 20, 'JS loop, one chunk'],
    [false, 1002, 'JS loop, many chunks'],
  ])('simd %s, chunk %i bytes (%s)', async (simd, chunkBytes) => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'bf.safetensors');
      await writeSafetensors(file, { bf: { dtype: 'BF16', shape: [count], data: bits } });
      const source = await openSafetensorsFile(file);
      try {
        const out = await readTensor('bf', source.locate('bf')!, true, { chunkBytes, simd });
        expect(Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(shifted)).toBe(true);
      } finally {
        await source.close();
      }
    });
  });

  it('falls back to the JS loop where WebAssembly is missing (node --jitless)', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'bf.safetensors');
      await writeSafetensors(file, { bf: { dtype: 'BF16', shape: [count], data: bits } });
      const script = join(dir, 'read.mts');
      const entry = new URL('../src/index.ts', import.meta.url).href;
      await writeFile(
        script,
        `import { openCheckpoint } from ${JSON.stringify(entry)};
const ckpt = await openCheckpoint(${JSON.stringify(file)});
const out = await ckpt.read('bf', { as: 'float32' });
await ckpt.close();
process.stdout.write(typeof WebAssembly + ' ' + Buffer.from(out.buffer).toString('base64'));`,
      );
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--jitless', '--conditions=@remax/source', '--import', 'tsx', script],
        { cwd: fileURLToPath(new URL('..', import.meta.url)), maxBuffer: 1 << 24 },
      );
      expect(stdout).toBe(`undefined ${shifted.toString('base64')}`);
    });
  });

  it('concurrent converting reads each get their own staging buffers', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'many.safetensors');
      const tensors = Object.fromEntries(
        Array.from({ length: 8 }, (_, t) => [
          `t${t}`,
          { dtype: 'BF16' as const, shape: [count], data: bits.map((b) => b ^ t) },
        ]),
      );
      await writeSafetensors(file, tensors);
      const ckpt = await openCheckpoint(file);
      try {
        const all = await Promise.all(ckpt.names().map((n) => ckpt.read(n, { as: 'float32' })));
        for (const [i, name] of ckpt.names().entries()) {
          const t = Number(name.slice(1));
          const want = Uint32Array.from(bits, (b) => (b ^ t) * 65536);
          const got = all[i]!;
          expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), name).toBe(true);
        }
      } finally {
        await ckpt.close();
      }
    });
  });

  it('a file truncated after opening fails the chunked read, and later reads still work', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'cut.safetensors');
      await writeSafetensors(file, {
        a: { dtype: 'BF16', shape: [count], data: bits },
        b: { dtype: 'BF16', shape: [count], data: bits },
      });
      const ckpt = await openCheckpoint(file);
      try {
        const whole = await readFile(file);
        await truncate(file, whole.byteLength - 1000); // cuts into the last tensor ("b")
        const error = await ckpt.read('b', { as: 'float32' }).catch((e: unknown) => e);
        expect(isRemaxError(error, 'E_FORMAT'), String(error)).toBe(true);
        expect((error as Error).message).toMatch(/truncated: tensor "b"/);
        const a = await ckpt.read('a', { as: 'float32' });
        expect(Buffer.from(a.buffer).equals(shifted)).toBe(true);
      } finally {
        await ckpt.close();
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
