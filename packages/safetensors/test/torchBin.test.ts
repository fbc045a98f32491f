import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRemaxError, type RemaxErrorCode } from '@remax/core';
import { unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/index.js';
import { testFixture } from './paths.js';
import { withTempDir } from './tmpDir.js';

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
    ['cases-zip64.bin', 'zip64 end record, locator and extra fields'],
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

describe('malformed pickles and zips', () => {
  const zipWith = (pkl: Uint8Array) =>
    zipSync({
      'archive/data.pkl': [pkl, { level: 0 }],
      'archive/version': [Buffer.from('3\n'), { level: 0 }],
    });
  const good = readFileSync(testFixture('cases.bin'));
  const goodPkl = unzipSync(good)['archive/data.pkl']!;

  it.each([
    ['a truncated pickle', goodPkl.subarray(0, 500), 'E_FORMAT', /pickle is truncated/],
    [
      'an unknown opcode',
      Uint8Array.from([0x80, 0x02, 0xff]),
      'E_FORMAT',
      /unsupported pickle opcode/,
    ],
    ['a stack underflow', Uint8Array.from([0x80, 0x02, 0x2e]), 'E_FORMAT', /stack underflow/],
    [
      'a top-level list',
      Uint8Array.from([0x80, 0x02, 0x5d, 0x2e]),
      'E_FORMAT',
      /does not hold a state_dict/,
    ],
    [
      'a nested checkpoint',
      // {'state_dict': {}}
      Uint8Array.from([
        0x80,
        0x02,
        0x7d,
        0x8c,
        0x0a,
        ...Buffer.from('state_dict'),
        0x7d,
        0x73,
        0x2e,
      ]),
      'E_FORMAT',
      /state_dict: state_dict entry is not a named tensor/,
    ],
    [
      'INST of an arbitrary class',
      Uint8Array.from([0x80, 0x02, 0x28, 0x69, ...Buffer.from('os\nsystem\n'), 0x2e]),
      'E_UNSAFE_PICKLE',
      /instantiates an arbitrary class/,
    ],
    [
      'a memo reference that was never stored',
      Uint8Array.from([0x80, 0x02, 0x68, 0x05, 0x2e]),
      'E_FORMAT',
      /memo key missing/,
    ],
  ] as const)('refuses %s', async (_name, pkl, code, problem) => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'pytorch_model.bin');
      await writeFile(file, zipWith(pkl));
      await expectError(file, code, problem);
    });
  });

  it('refuses a zip whose central directory points outside the file', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'pytorch_model.bin');
      const bytes = Buffer.from(good);
      const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
      bytes.writeUInt32LE(bytes.byteLength, eocd + 16);
      await writeFile(file, bytes);
      await expectError(file, 'E_FORMAT', /central directory/);
    });
  });

  it('refuses a .bin cut short inside the tensor data', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'pytorch_model.bin');
      // Keep the central directory (at the end) but drop bytes in the middle: entries then
      // point past their real data, and the local headers no longer line up.
      const eocdStart = good.byteLength - 400;
      await writeFile(file, Buffer.concat([good.subarray(0, 1500), good.subarray(eocdStart)]));
      const error = await openCheckpoint(file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isRemaxError(error), String(error)).toBe(true);
      expect((error as Error).message).toContain(file);
    });
  });
});
