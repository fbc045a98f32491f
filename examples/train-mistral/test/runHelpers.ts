// Shared by the run-lifecycle tests (on top of trainHelpers.ts): the package
// directory, bit-exact weight comparisons, error capture.
import { fileURLToPath } from 'node:url';
import { openCheckpoint } from '@remax/safetensors';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));
export { errorOf } from './support/helpers.js';
export { deterministicPart, FAST, tinyYaml } from './trainHelpers.js';

/** Every tensor of a checkpoint folder as raw bytes (for bit-exact comparisons). */
export async function weightBytes(dir: string): Promise<Map<string, Buffer>> {
  const ckpt = await openCheckpoint(dir);
  try {
    const out = new Map<string, Buffer>();
    for (const name of ckpt.names()) {
      const a = await ckpt.read(name);
      out.set(name, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    }
    return out;
  } finally {
    await ckpt.close();
  }
}

/** Names of the tensors whose bytes differ between two checkpoint folders (or that one lacks). */
export async function differingTensors(a: string, b: string): Promise<string[]> {
  const wa = await weightBytes(a);
  const wb = await weightBytes(b);
  const names = new Set([...wa.keys(), ...wb.keys()]);
  return [...names].filter((n) => !(wa.get(n)?.equals(wb.get(n) ?? Buffer.alloc(0)) ?? false));
}

/** Timeout of the long lifecycle tests (kill -9 loops, several runs) on a loaded machine. */
export const LONG = 900_000;
