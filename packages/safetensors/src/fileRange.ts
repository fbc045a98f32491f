import type { FileHandle } from 'node:fs/promises';
import { RemaxError } from '@remax/core';

// One read call is capped well below Node's 2 GiB per-call limit.
const MAX_READ_BYTES = 1 << 30;

/**
 * Fills `target` with the bytes of `handle` starting at `position`. A file that ends early is
 * a truncated file: a typed error, never a partially filled result.
 */
export async function readExactly(
  handle: FileHandle,
  file: string,
  position: number,
  target: Uint8Array,
  what: string,
): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const length = Math.min(target.byteLength - done, MAX_READ_BYTES);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) {
      throw new RemaxError('E_FORMAT', `file is truncated: ${what} ends past the end of the file`, {
        file,
        value: `${position + target.byteLength} bytes needed, ${position + done} available`,
      });
    }
    done += bytesRead;
  }
}

/** Reads `length` bytes at `position` into a fresh, 8-byte aligned buffer. */
export async function readBytesAt(
  handle: FileHandle,
  file: string,
  position: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  await readExactly(handle, file, position, bytes, what);
  return bytes;
}
