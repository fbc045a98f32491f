// Durable writes for run outputs. Every write of the trainer goes through a
// small `RunIo` seam, so tests can inject ENOSPC / EIO on a chosen file without
// filling a disk. A failed write becomes one typed error naming the file.
import { appendFileSync, closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RemaxError } from '@remax/core';

/** The file-system calls the trainer writes with (replaceable in tests). */
export interface RunIo {
  writeFile(file: string, data: string | Uint8Array): void;
  appendFile(file: string, data: string): void;
  rename(from: string, to: string): void;
  /** Flushes a file or a directory (its entries) to stable storage. */
  fsync(path: string): void;
}

export const nodeIo: RunIo = {
  writeFile: (file, data) => writeFileSync(file, data),
  appendFile: (file, data) => appendFileSync(file, data),
  rename: (from, to) => renameSync(from, to),
  fsync: (path) => {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } catch (e) {
      // some file systems refuse fsync on a directory; the rename is still atomic there
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    } finally {
      closeSync(fd);
    }
  },
};

/** errno codes that mean "the write did not reach the disk". */
const WRITE_FAILURES = new Set(['ENOSPC', 'EIO', 'EDQUOT', 'EROFS', 'EFBIG']);

/**
 * Turns a failed write into E_IO naming the file (the errno's own path when
 * it has one, else `file`); anything else is rethrown unchanged.
 */
export function asWriteError(e: unknown, file: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === undefined || !WRITE_FAILURES.has(err.code)) return e;
  return new RemaxError('E_IO', `write failed (${err.code})`, {
    file: err.path ?? file,
    expected: 'free space and a healthy disk; the last complete checkpoint is intact',
    cause: e,
  });
}

function guarded<T>(file: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    throw asWriteError(e, file);
  }
}

/** Writes and fsyncs a file (inside a directory that is fsynced or renamed later). */
export function writeDurable(io: RunIo, file: string, data: string | Uint8Array): void {
  guarded(file, () => {
    io.writeFile(file, data);
    io.fsync(file);
  });
}

/** Replaces `file` atomically: a sibling temporary file, fsync, rename, fsync of the directory. */
export function replaceAtomically(io: RunIo, file: string, data: string | Uint8Array): void {
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
  guarded(file, () => {
    io.writeFile(tmp, data);
    io.fsync(tmp);
    io.rename(tmp, file);
    io.fsync(dirname(file));
  });
}

/**
 * Appends one line and fsyncs it: the line of step N is on disk before the
 * checkpoint of step N is, so a resumed run never lacks a step.
 */
export function appendDurable(io: RunIo, file: string, line: string): void {
  guarded(file, () => {
    io.appendFile(file, line);
    io.fsync(file);
  });
}
