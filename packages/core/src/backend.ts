import { RemaxError } from './errors.js';
import { registerTfjsFixes } from './kernels/index.js';
import { tf } from './tf.js';

export type BackendPreference = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
const PREFERENCES: readonly BackendPreference[] = ['auto', 'wasm', 'cpu', 'tensorflow'];

/**
 * Selects and initialises the tensor backend; returns the name in use.
 * `auto`: @tensorflow/tfjs-node-gpu if installed, else @tensorflow/tfjs-node,
 * else wasm (SIMD). The REMAX_BACKEND environment variable overrides `preference`.
 * The native packages are optional peers loaded by dynamic import only.
 */
export async function initBackend(preference: BackendPreference = 'auto'): Promise<string> {
  const fromEnv = process.env['REMAX_BACKEND'];
  const wanted = (fromEnv && fromEnv.length > 0 ? fromEnv : preference) as BackendPreference;
  if (!PREFERENCES.includes(wanted)) {
    throw new RemaxError('E_BACKEND', 'unknown tensor backend', {
      field: fromEnv ? 'REMAX_BACKEND' : 'preference',
      value: wanted,
      expected: PREFERENCES.join(' | '),
    });
  }
  if (wanted === 'tensorflow' || wanted === 'auto') {
    if (await tryImport('@tensorflow/tfjs-node-gpu')) return use('tensorflow');
    if (await tryImport('@tensorflow/tfjs-node')) return use('tensorflow');
    if (wanted === 'tensorflow') {
      throw new RemaxError('E_BACKEND', 'native TensorFlow backend requested but not installed', {
        field: 'backend',
        value: wanted,
        expected: 'npm i @tensorflow/tfjs-node-gpu (or @tensorflow/tfjs-node) next to @remax/core',
      });
    }
  }
  if (wanted === 'cpu') return use('cpu');
  await import('@tensorflow/tfjs-backend-wasm');
  return use('wasm');
}

async function tryImport(specifier: string): Promise<boolean> {
  try {
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

async function use(name: string): Promise<string> {
  registerTfjsFixes();
  const ok = await tf.setBackend(name);
  if (!ok) {
    throw new RemaxError('E_BACKEND', 'backend failed to initialise', { value: name });
  }
  await tf.ready();
  return tf.getBackend();
}
