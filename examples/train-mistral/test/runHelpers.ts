// Shared by the run-lifecycle tests (on top of trainHelpers.ts): the package
// directory, bit-exact weight comparisons, error capture.
import { fileURLToPath } from 'node:url';
import { openCheckpoint } from '@remax/safetensors';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));
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

/** The error `fn` throws (fails the test when it does not throw). */
export function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

// Minutes, not seconds: these train real (tiny) models, and CI machines are shared.
export const LONG = 900_000;
