import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRemaxError, type RemaxErrorCode } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { openCheckpoint, writeSafetensors } from '../src/index.js';
import { withTempDir } from './tmpDir.js';

/** A .safetensors file from raw header text and data bytes (header length taken as given). */
function safetensorsBytes(header: string | Uint8Array, data: Uint8Array, declaredLength?: bigint) {
  const headerBytes = typeof header === 'string' ? Buffer.from(header) : Buffer.from(header);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(headerBytes.byteLength));
  return Buffer.concat([prefix, headerBytes, data]);
}

async function expectOpenError(file: string, code: RemaxErrorCode, problem: RegExp) {
  const error = await openCheckpoint(file).then(
    async (ckpt) => {
      await ckpt.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(isRemaxError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  expect((error as Error).message).toContain(file);
  expect((error as Error).message).toMatch(problem);
}

const tensor = (dtype: string, shape: number[], offsets: [number, number]) =>
  ({ dtype, shape, data_offsets: offsets }) as const;

const header = (tensors: Record<string, unknown>) => JSON.stringify(tensors);

describe('fault corpus: every bad file gives a typed error naming the file and the problem', () => {
  const cases: [string, () => Promise<Buffer> | Buffer, RemaxErrorCode, RegExp][] = [
    ['empty file', () => Buffer.alloc(0), 'E_FORMAT', /truncated.*8-byte header length/],
    ['file shorter than 8 bytes', () => Buffer.from([1, 0, 0]), 'E_FORMAT', /truncated/],
    [
      'header length beyond the file size',
      () => safetensorsBytes('{}', new Uint8Array(0), 1000n),
      'E_FORMAT',
      /header length is beyond the file size/,
    ],
    [
      'header length that is a huge u64',
      () => safetensorsBytes('{}', new Uint8Array(0), 2n ** 63n),
      'E_FORMAT',
      /header length is beyond the file size/,
    ],
    [
      'header not UTF-8',
      () => safetensorsBytes(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), new Uint8Array(0)),
      'E_FORMAT',
      /not valid UTF-8/,
    ],
    [
      'header not JSON',
      () => safetensorsBytes('{"a": {"dtype": "F32",', new Uint8Array(0)),
      'E_FORMAT',
      /not valid JSON/,
    ],
    [
      'header a JSON array',
      () => safetensorsBytes('[1, 2]', new Uint8Array(0)),
      'E_FORMAT',
      /not a JSON object/,
    ],
    [
      'unknown dtype',
      () => safetensorsBytes(header({ a: tensor('F8_E4M3', [4], [0, 4]) }), new Uint8Array(4)),
      'E_FORMAT',
      /a\.dtype: unknown dtype \(got "F8_E4M3"\)/,
    ],
    [
      'shape x dtype != byte span',
      () => safetensorsBytes(header({ a: tensor('F32', [3], [0, 8]) }), new Uint8Array(8)),
      'E_FORMAT',
      /a: shape x dtype size does not match the byte span/,
    ],
    [
      'offsets overlapping',
      () =>
        safetensorsBytes(
          header({ a: tensor('F32', [2], [0, 8]), b: tensor('F32', [2], [4, 12]) }),
          new Uint8Array(12),
        ),
      'E_FORMAT',
      /b: tensor data offsets overlap/,
    ],
    [
      'offsets leaving a hole',
      () =>
        safetensorsBytes(
          header({ a: tensor('F32', [1], [0, 4]), b: tensor('F32', [1], [8, 12]) }),
          new Uint8Array(12),
        ),
      'E_FORMAT',
      /b: tensor data offsets leave a hole/,
    ],
    [
      'offsets out of bounds',
      () => safetensorsBytes(header({ a: tensor('F32', [4], [0, 16]) }), new Uint8Array(8)),
      'E_FORMAT',
      /a: tensor data ends past the end of the file/,
    ],
    [
      'trailing bytes no tensor covers',
      () => safetensorsBytes(header({ a: tensor('F32', [1], [0, 4]) }), new Uint8Array(12)),
      'E_FORMAT',
      /do not cover the data region/,
    ],
    [
      'negative / fractional shape',
      () => safetensorsBytes(header({ a: tensor('F32', [-1], [0, 0]) }), new Uint8Array(0)),
      'E_FORMAT',
      /a\.shape: invalid shape/,
    ],
    [
      '__metadata__ with a non-string value',
      () => safetensorsBytes(header({ __metadata__: { n: 1 } }), new Uint8Array(0)),
      'E_FORMAT',
      /__metadata__ must map strings to strings/,
    ],
  ];

  it.each(cases)('%s', async (_name, make, code, problem) => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'bad.safetensors');
      await writeFile(file, await make());
      await expectOpenError(file, code, problem);
    });
  });

  it('a valid file cut short (truncated data)', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'cut.safetensors');
      await writeSafetensors(file, {
        a: { dtype: 'F32', shape: [64], data: new Float32Array(64) },
      });
      const bytes = await readFile(file);
      await writeFile(file, bytes.subarray(0, bytes.byteLength - 10));
      await expectOpenError(file, 'E_FORMAT', /truncated/);
      await writeFile(file, bytes.subarray(0, 20));
      await expectOpenError(file, 'E_FORMAT', /header length is beyond the file size/);
    });
  });

  it('an index naming a missing shard', async () => {
    await withTempDir(async (dir) => {
      await writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), {
        a: { dtype: 'F32', shape: [1], data: new Float32Array(1) },
      });
      const index = join(dir, 'model.safetensors.index.json');
      await writeFile(
        index,
        JSON.stringify({
          metadata: { total_size: 8 },
          weight_map: {
            a: 'model-00001-of-00002.safetensors',
            b: 'model-00002-of-00002.safetensors',
          },
        }),
      );
      await expectOpenError(index, 'E_FILE', /missing shard.*model-00002-of-00002/);
      await expectOpenError(dir, 'E_FILE', /missing shard/);
    });
  });

  it('an index that is not JSON, lacks weight_map, escapes its folder or maps a tensor wrongly', async () => {
    await withTempDir(async (dir) => {
      await writeSafetensors(join(dir, 'model-00001-of-00001.safetensors'), {
        a: { dtype: 'F32', shape: [1], data: new Float32Array(1) },
      });
      const index = join(dir, 'model.safetensors.index.json');
      await writeFile(index, '{"weight_map": ');
      await expectOpenError(index, 'E_FORMAT', /not valid JSON/);
      await writeFile(index, '{"metadata": {}}');
      await expectOpenError(index, 'E_FORMAT', /weight_map/);
      await writeFile(index, JSON.stringify({ weight_map: { a: '../x.safetensors' } }));
      await expectOpenError(index, 'E_FORMAT', /outside its folder/);
      await writeFile(
        index,
        JSON.stringify({ weight_map: { zz: 'model-00001-of-00001.safetensors' } }),
      );
      await expectOpenError(
        index,
        'E_CHECKPOINT',
        /zz: shard index maps a tensor to a shard without it/,
      );
    });
  });

  it('a missing path and a folder without a checkpoint', async () => {
    await withTempDir(async (dir) => {
      await expectOpenError(join(dir, 'nope.safetensors'), 'E_FILE', /does not exist/);
      await mkdir(join(dir, 'empty'));
      await expectOpenError(join(dir, 'empty'), 'E_FILE', /no checkpoint found/);
    });
  });

  it('a zip that is not a zip, and a legacy pickle-only .bin', async () => {
    await withTempDir(async (dir) => {
      const notZip = join(dir, 'model.bin');
      await writeFile(notZip, Buffer.alloc(100, 7));
      await expectOpenError(notZip, 'E_FORMAT', /end of central directory not found/);
      await writeFile(notZip, Buffer.from([0x80, 0x02, 0x8a, 0x0a]));
      await expectOpenError(notZip, 'E_UNSUPPORTED', /legacy/);
    });
  });
});

describe('lazy reads', () => {
  it('opens a file declaring a 4 GiB tensor and reads a small one without touching the rest', async () => {
    await withTempDir(async (dir) => {
      // A sparse file: the big tensor's bytes are never written, so reading them would be
      // slow and would need 4 GiB of memory; opening and reading `small` must not.
      const big = 2 ** 30;
      const text = header({
        big: tensor('F32', [big], [0, big * 4]),
        small: tensor('I32', [2], [big * 4, big * 4 + 8]),
      });
      const padded = text + ' '.repeat((8 - (text.length % 8)) % 8);
      const file = join(dir, 'sparse.safetensors');
      const handle = await open(file, 'w');
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(padded.length));
      await handle.write(Buffer.concat([prefix, Buffer.from(padded)]), 0, 8 + padded.length, 0);
      const smallAt = 8 + padded.length + big * 4;
      await handle.write(Buffer.from(Int32Array.from([7, -9]).buffer), 0, 8, smallAt);
      await handle.close();
      const before = process.memoryUsage().rss;
      const ckpt = await openCheckpoint(file);
      try {
        expect(ckpt.info('big')).toEqual({ dtype: 'F32', shape: [big] });
        expect([...(await ckpt.read('small'))]).toEqual([7, -9]);
      } finally {
        await ckpt.close();
      }
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
    });
  });
});
