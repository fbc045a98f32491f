// Checkpoint readers refuse claims the file cannot back (a view larger than its
// storage, an entry size beyond the file or a bound) BEFORE allocating anything
// proportional to the claim: memory stays flat.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRemaxError } from '@remax/core';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/index.js';
import { withTempDir } from './tmpDir.js';

const MiB = 1024 ** 2;
const str = (s: string) => [0x58, ...u32(s.length), ...Buffer.from(s)]; // BINUNICODE
const global = (mod: string, name: string) => [0x63, ...Buffer.from(`${mod}\n${name}\n`)];
const int = (n: number) => [0x4a, ...u32(n)]; // BININT
function u32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return [...b];
}

/** A torch.save pickle of {'w': a tensor on a 1-element float storage with this shape and strides}. */
function viewPickle(shape: number[], strides: number[]): Uint8Array {
  const tuple = (xs: number[]) => [0x28, ...xs.flatMap(int), 0x74]; // MARK ... TUPLE
  return Uint8Array.from([
    0x80,
    0x02,
    0x7d,
    ...str('w'),
    ...global('torch._utils', '_rebuild_tensor_v2'),
    0x28,
    0x28,
    ...str('storage'),
    ...global('torch', 'FloatStorage'),
    ...str('0'),
    ...str('cpu'),
    ...int(1),
    0x74,
    0x51, // persistent id tuple, BINPERSID
    ...int(0),
    ...tuple(shape),
    ...tuple(strides),
    0x89,
    ...global('collections', 'OrderedDict'),
    0x29,
    0x52, // OrderedDict()
    0x74,
    0x52,
    0x73,
    0x2e, // args TUPLE, REDUCE, SETITEM, STOP
  ]);
}

function torchZip(pkl: Uint8Array): Uint8Array {
  return zipSync({
    'archive/data.pkl': [pkl, { level: 0 }],
    'archive/data/0': [new Uint8Array(4), { level: 0 }],
    'archive/version': [Buffer.from('3\n'), { level: 0 }],
  });
}

/** Runs `attempt`, expects E_FORMAT matching `problem`, and returns how much array memory grew. */
async function refusedFlat(file: string, problem: RegExp, attempt: () => Promise<unknown>) {
  const before = process.memoryUsage().arrayBuffers;
  const error = await attempt().then(
    () => undefined,
    (e: unknown) => e,
  );
  const grown = process.memoryUsage().arrayBuffers - before;
  expect(isRemaxError(error, 'E_FORMAT'), String(error)).toBe(true);
  expect((error as Error).message).toContain(file);
  expect((error as Error).message).toMatch(problem);
  expect(grown).toBeLessThan(16 * MiB);
}

const readAll = async (file: string) => {
  const ckpt = await openCheckpoint(file);
  try {
    for (const name of ckpt.names()) await ckpt.read(name);
  } finally {
    await ckpt.close();
  }
};

describe('bounded reads', () => {
  it.each([
    ['[8192, 8192] strides (0, 0) on 1 element (256 MiB claimed)', [8192, 8192], [0, 0]],
    ['[100000, 100000] strides (0, 0) (a RangeError before)', [100000, 100000], [0, 0]],
    ['[4] stride 0 on 1 element', [4], [0]],
  ])('refuses a .bin view %s', async (_what, shape, strides) => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'pytorch_model.bin');
      await writeFile(file, torchZip(viewPickle(shape, strides)));
      await refusedFlat(file, /view needs more elements than its storage holds/, () =>
        readAll(file),
      );
    });
  });

  it('still reads a view that fits its storage', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'pytorch_model.bin');
      await writeFile(file, torchZip(viewPickle([1], [1])));
      const ckpt = await openCheckpoint(file);
      expect([...(await ckpt.read('w'))]).toEqual([0]);
      await ckpt.close();
    });
  });

  /** Patches the central-directory uncompressed size of `name` to `size`. */
  function claimSize(zip: Uint8Array, name: string, size: number): Buffer {
    const bytes = Buffer.from(zip);
    const at = bytes.lastIndexOf(Buffer.from(name)) - 46; // central header precedes the name
    expect(bytes.readUInt32LE(at)).toBe(0x02014b50);
    bytes.writeUInt32LE(size, at + 24);
    return bytes;
  }

  it.each([
    ['4 GiB (beyond the bound)', 0xfffffff0, /zip entry size is beyond the bound/],
    ['512 MiB (more than deflate can expand to)', 512 * MiB, /more than deflate can expand to/],
  ])(
    'refuses a deflated data.pkl claiming %s before reserving it',
    async (_what, size, problem) => {
      await withTempDir(async (dir) => {
        const file = join(dir, 'pytorch_model.bin');
        const zip = zipSync({
          'archive/data.pkl': [viewPickle([1], [1]), { level: 6 }],
          'archive/data/0': [new Uint8Array(4), { level: 0 }],
        });
        await writeFile(file, claimSize(zip, 'archive/data.pkl', size));
        await refusedFlat(file, problem, () => readAll(file));
      });
    },
  );

  it('refuses a stored tensor entry claiming more bytes than it stores', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'pytorch_model.bin');
      const zip = torchZip(viewPickle([1], [1]));
      await writeFile(file, claimSize(zip, 'archive/data/0', 0x7ffffff0));
      await refusedFlat(file, /stored tensor entry sizes disagree/, () => readAll(file));
    });
  });
});
