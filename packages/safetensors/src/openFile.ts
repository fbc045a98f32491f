import { type FileHandle, open } from 'node:fs/promises';
import { RemaxError } from '@remax/core';

/** Opens a file for reading, turning "no such file" and friends into a typed error. */
export async function openFile(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new RemaxError('E_FILE', `cannot open file${code ? ` (${code})` : ''}`, { file, cause });
  }
}
