// A directory that appears complete or not at all: filled under a temporary
// name, every file and the directory flushed to disk (fsync), then renamed.
// Checkpoints and the adapters synced to the rollout engine are written so: a
// run killed mid-write, or an engine reading the folder, never sees half of one.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Runs `fill(tmp)`, syncs what it wrote, and renames tmp to `final` (replacing it). */
export async function writeDirAtomically(
  final: string,
  fill: (tmp: string) => Promise<void>,
): Promise<string> {
  const parent = dirname(final);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.tmp-${basename(final)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    await fill(tmp);
    syncTree(tmp);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    syncPath(parent); // the rename itself
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return final;
}

function syncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) syncTree(path);
    else syncPath(path);
  }
  syncPath(dir);
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
