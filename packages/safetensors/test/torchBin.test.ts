import { isRemaxError, type RemaxErrorCode } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/index.js';
import { testFixture } from './paths.js';

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function expectError(file: string, code: RemaxErrorCode, message: RegExp): Promise<void> {
  const error = await openCheckpoint(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isRemaxError(error, code), String(error)).toBe(true);
  expect((error as Error).message).toContain(file);
  expect((error as Error).message).toMatch(message);
}

describe('PyTorch .bin (restricted unpickler + lazy zip reads)', () => {
  // Expected values come from numpy (as_strided views) in make_torch_fixtures.py.
  it.each([
    ['cases.bin', 'protocol 2, OrderedDict with _metadata (BUILD)'],
    ['cases-p4.bin', 'protocol 4: FRAME, MEMOIZE, STACK_GLOBAL, another archive root'],
    ['cases-be.bin', 'big-endian byteorder marker'],
  ])('%s (%s): offsets, strides, shared storages and every dtype', async (file) => {
    const bin = await openCheckpoint(testFixture(file));
    const expected = await openCheckpoint(testFixture('cases.expected.safetensors'));
    try {
      expect([...bin.names()].sort()).toEqual([...expected.names()].sort());
      for (const name of expected.names()) {
        expect(bin.info(name), name).toEqual(expected.info(name));
        const got = await bin.read(name);
        expect(bytesOf(got).equals(bytesOf(await expected.read(name))), name).toBe(true);
      }
      // transposed.f32 is the [3, 2] transpose of contig.f32 through a shared storage.
      expect([...(await bin.read('transposed.f32'))]).toEqual([-2, 2.5, -0.5, 4, 1, 5.5]);
      expect([...(await bin.read('offset.f32'))]).toEqual([1, 2.5]);
      expect([...(await bin.read('all.bf16', { as: 'float32' }))]).toEqual([
        1,
        -3.140625,
        Infinity,
      ]);
      expect([...(await bin.read('all.f16', { as: 'float32' }))]).toEqual([1, -2.5, 65504]);
    } finally {
      await bin.close();
      await expected.close();
    }
  });

  it('refuses a pickle naming os.system, naming the global and the file', async () => {
    await expectError(testFixture('evil-os-system.bin'), 'E_UNSAFE_PICKLE', /os\.system/);
  });

  it('refuses a pickle naming builtins.eval (STACK_GLOBAL)', async () => {
    await expectError(testFixture('evil-builtins-eval.bin'), 'E_UNSAFE_PICKLE', /builtins\.eval/);
  });

  it('refuses a zip without data.pkl', async () => {
    await expectError(testFixture('no-data-pkl.bin'), 'E_FORMAT', /no data\.pkl/);
  });

  it('refuses a pickle naming a storage the zip lacks', async () => {
    await expectError(testFixture('missing-storage.bin'), 'E_FORMAT', /storage is missing/);
  });

  it('refuses a view reaching past the end of its storage', async () => {
    await expectError(testFixture('view-out-of-bounds.bin'), 'E_FORMAT', /past the end/);
  });
});
