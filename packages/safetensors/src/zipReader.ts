// A minimal, read-only zip reader that touches only the central directory and the entries
// asked for. PyTorch stores tensor data uncompressed ("stored"), so a tensor can be read by
// seeking to its entry's data: a 10 GB shard is never read whole.
import type { FileHandle } from 'node:fs/promises';
import { RemaxError } from '@remax/core';
import { inflateSync } from 'fflate';
import { readBytesAt } from './fileRange.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export interface ZipArchive {
  readonly file: string;
  readonly handle: FileHandle;
  readonly size: number;
  readonly entries: Map<string, ZipEntry>;
  /** Absolute file position of an entry's (possibly compressed) bytes. */
  dataStart(entry: ZipEntry): Promise<number>;
  /** Reads a whole entry into memory (for small entries such as data.pkl). */
  readEntry(entry: ZipEntry): Promise<Uint8Array>;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const MAX_CENTRAL_DIRECTORY_BYTES = 1 << 28;
/** Largest entry read whole (data.pkl of a 70B model is a few MB). */
export const MAX_WHOLE_ENTRY_BYTES = 1 << 30;
/** deflate cannot expand more than ~1032:1; a larger claimed ratio is a lie. */
const MAX_DEFLATE_RATIO = 1032;

function formatError(file: string, message: string, value?: unknown): RemaxError {
  return new RemaxError('E_FORMAT', `zip archive: ${message}`, { file, value });
}

export async function openZip(handle: FileHandle, file: string): Promise<ZipArchive> {
  const { size } = await handle.stat();
  if (size < EOCD_SIZE)
    throw formatError(file, 'file is too short to be a zip archive', `${size} bytes`);

  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = size - tailLength;
  const tail = await readBytesAt(handle, file, tailStart, tailLength, 'zip end record');
  const tailView = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tailView.getUint32(i, true) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw formatError(file, 'end of central directory not found (not a zip file?)');

  let count = tailView.getUint16(eocd + 10, true);
  let cdSize = tailView.getUint32(eocd + 12, true);
  let cdOffset = tailView.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    ({ count, cdSize, cdOffset } = await readZip64End(handle, file, tailStart + eocd, size));
  }
  if (cdOffset + cdSize > size || cdSize > MAX_CENTRAL_DIRECTORY_BYTES) {
    throw formatError(file, 'central directory lies outside the file', { cdOffset, cdSize, size });
  }

  const cd = await readBytesAt(handle, file, cdOffset, cdSize, 'zip central directory');
  const entries = parseCentralDirectory(cd, count, file);
  const starts = new Map<string, number>();

  const dataStart = async (entry: ZipEntry): Promise<number> => {
    const cached = starts.get(entry.name);
    if (cached !== undefined) return cached;
    if (entry.localHeaderOffset + 30 > size) {
      throw formatError(file, `local header of ${entry.name} is outside the file`);
    }
    const local = await readBytesAt(handle, file, entry.localHeaderOffset, 30, 'zip local header');
    const view = new DataView(local.buffer);
    if (view.getUint32(0, true) !== LOCAL_SIGNATURE) {
      throw formatError(file, `bad local header signature for ${entry.name}`);
    }
    const start =
      entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (start + entry.compressedSize > size) {
      throw new RemaxError(
        'E_FORMAT',
        'file is truncated: zip entry ends past the end of the file',
        {
          file,
          field: entry.name,
          value: `${start + entry.compressedSize} bytes needed, ${size} available`,
        },
      );
    }
    starts.set(entry.name, start);
    return start;
  };

  const readEntry = async (entry: ZipEntry): Promise<Uint8Array> => {
    if ((entry.flags & 1) !== 0) {
      throw new RemaxError('E_UNSUPPORTED', 'encrypted zip entries are not supported', {
        file,
        field: entry.name,
      });
    }
    checkWholeEntrySize(entry, file);
    const start = await dataStart(entry);
    const raw = await readBytesAt(handle, file, start, entry.compressedSize, entry.name);
    if (entry.method === 0) return raw;
    if (entry.method === 8) {
      let out: Uint8Array;
      try {
        out = inflateSync(raw, { out: new Uint8Array(entry.size) });
      } catch (cause) {
        throw new RemaxError('E_FORMAT', 'zip entry does not inflate', {
          file,
          field: entry.name,
          cause,
        });
      }
      if (out.byteLength !== entry.size)
        throw formatError(file, `${entry.name} inflates to the wrong size`);
      return out;
    }
    throw new RemaxError('E_UNSUPPORTED', 'unsupported zip compression method', {
      file,
      field: entry.name,
      value: entry.method,
      expected: '0 (stored) or 8 (deflate)',
    });
  };

  return { file, handle, size, entries, dataStart, readEntry };
}

/**
 * The sizes of an entry read whole are checked before its buffer is allocated:
 * a stored entry's two sizes must agree, a deflated one's ratio must be one
 * deflate can reach, and neither may pass MAX_WHOLE_ENTRY_BYTES.
 */
function checkWholeEntrySize(entry: ZipEntry, file: string): void {
  const bad = (why: string, expected: string) =>
    new RemaxError('E_FORMAT', `zip entry size ${why}`, {
      file,
      field: entry.name,
      value: `${entry.size} bytes (${entry.compressedSize} compressed)`,
      expected,
    });
  if (entry.size > MAX_WHOLE_ENTRY_BYTES || entry.compressedSize > MAX_WHOLE_ENTRY_BYTES)
    throw bad('is beyond the bound', `at most ${MAX_WHOLE_ENTRY_BYTES} bytes`);
  if (entry.method === 0 && entry.size !== entry.compressedSize)
    throw bad('disagrees with its stored size', 'equal sizes for a stored entry');
  if (entry.method === 8 && entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024)
    throw bad('is more than deflate can expand to', `<= ${MAX_DEFLATE_RATIO}x the compressed size`);
}

async function readZip64End(
  handle: FileHandle,
  file: string,
  eocdPosition: number,
  size: number,
): Promise<{ count: number; cdSize: number; cdOffset: number }> {
  if (eocdPosition < 20) throw formatError(file, 'zip64 locator missing');
  const locator = await readBytesAt(handle, file, eocdPosition - 20, 20, 'zip64 locator');
  const lv = new DataView(locator.buffer);
  if (lv.getUint32(0, true) !== ZIP64_LOCATOR_SIGNATURE)
    throw formatError(file, 'zip64 locator missing');
  const recordOffset = Number(lv.getBigUint64(8, true));
  if (recordOffset + 56 > size) throw formatError(file, 'zip64 end record lies outside the file');
  const record = await readBytesAt(handle, file, recordOffset, 56, 'zip64 end record');
  const rv = new DataView(record.buffer);
  if (rv.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE)
    throw formatError(file, 'bad zip64 end record');
  return {
    count: Number(rv.getBigUint64(32, true)),
    cdSize: Number(rv.getBigUint64(40, true)),
    cdOffset: Number(rv.getBigUint64(48, true)),
  };
}

function parseCentralDirectory(cd: Uint8Array, count: number, file: string): Map<string, ZipEntry> {
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const decoder = new TextDecoder();
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.byteLength || view.getUint32(p, true) !== CENTRAL_SIGNATURE) {
      throw formatError(file, 'central directory is corrupt', `entry ${i} of ${count}`);
    }
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > cd.byteLength) throw formatError(file, 'central directory is corrupt', `entry ${i}`);
    const entry: ZipEntry = {
      name: decoder.decode(cd.subarray(p + 46, p + 46 + nameLength)),
      flags: view.getUint16(p + 8, true),
      method: view.getUint16(p + 10, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localHeaderOffset: view.getUint32(p + 42, true),
    };
    applyZip64Extra(entry, view, p + 46 + nameLength, extraLength);
    if (![entry.size, entry.compressedSize, entry.localHeaderOffset].every(Number.isFinite)) {
      throw formatError(file, 'zip64 extra field is missing or short', entry.name);
    }
    entries.set(entry.name, entry);
    p = end;
  }
  return entries;
}

/** Replaces 0xFFFFFFFF fields by their 64-bit values from the zip64 extra field (id 1). */
function applyZip64Extra(entry: ZipEntry, view: DataView, start: number, length: number): void {
  let q = start;
  while (q + 4 <= start + length) {
    const id = view.getUint16(q, true);
    const size = view.getUint16(q + 2, true);
    if (id === 1) {
      let r = q + 4;
      const next = (): number => {
        const v = r + 8 <= q + 4 + size ? Number(view.getBigUint64(r, true)) : Number.NaN;
        r += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    q += 4 + size;
  }
}
