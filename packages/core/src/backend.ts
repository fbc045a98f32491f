import { createRequire } from 'node:module';
import os from 'node:os';
import { RemaxError } from './errors.js';
import { registerTfjsFixes } from './kernels/index.js';
import { tf } from './tf.js';
import { installThreadShims, threadShimProblem } from './wasm-threads.js';

export type BackendPreference = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
const PREFERENCES: readonly BackendPreference[] = ['auto', 'wasm', 'cpu', 'tensorflow'];

/** Native TensorFlow bindings, best first; optional peer dependencies of @remax/core. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** How long a multithreaded wasm start may take before we fall back to one thread. */
const THREADED_INIT_TIMEOUT_MS = 30_000;

export interface BackendOptions {
  /**
   * Threads for the wasm backend (XNNPACK). Default: the number of cores, except
   * under vitest, where it is 1 (test workers already share the cores).
   * `REMAX_WASM_THREADS` overrides it. Only the first wasm start decides.
   */
  wasmThreads?: number;
  /** Where the fallback notice goes (default console.warn). */
  log?: (message: string) => void;
}

export interface BackendInfo {
  /** The backend in use ('wasm', 'cpu', 'tensorflow'). */
  name: string;
  /** XNNPACK threads when the backend is wasm, else null. */
  wasmThreads: number | null;
}

let wasmThreadsInUse: number | null = null;
const requireHere = createRequire(import.meta.url);

/**
 * Selects and initialises the tensor backend; returns the name in use.
 * `auto`: @tensorflow/tfjs-node-gpu if installed, else @tensorflow/tfjs-node,
 * else wasm (SIMD, multithreaded where the shims work). The REMAX_BACKEND
 * environment variable overrides `preference`. The native packages are optional
 * peers loaded by dynamic import only. Also registers the kernels and gradients
 * tfjs 4.22 lacks (see kernels/) and silences tfjs's "install tfjs-node" banner.
 */
export async function initBackend(
  preference: BackendPreference = 'auto',
  options: BackendOptions = {},
): Promise<string> {
  const fromEnv = process.env['REMAX_BACKEND'];
  const useEnv = fromEnv !== undefined && fromEnv.length > 0;
  const wanted = (useEnv ? fromEnv : preference) as BackendPreference;
  if (!PREFERENCES.includes(wanted)) {
    throw new RemaxError('E_BACKEND', 'unknown tensor backend', {
      field: useEnv ? 'REMAX_BACKEND' : 'preference',
      value: wanted,
      expected: PREFERENCES.join(' | '),
    });
  }
  silenceNodeBanner();
  if (wanted === 'tensorflow' || wanted === 'auto') {
    const native = await loadNative(wanted === 'tensorflow', options.log ?? console.warn);
    if (native) return use('tensorflow');
  }
  if (wanted === 'cpu') return use('cpu');
  return useWasm(options);
}

/** The backend in use and, for wasm, its thread count. */
export function backendInfo(): BackendInfo {
  const name = tf.getBackend();
  return { name, wasmThreads: name === 'wasm' ? wasmThreadsInUse : null };
}

/** Tries each native package; throws when `required` and none can load. */
async function loadNative(required: boolean, log: (m: string) => void): Promise<boolean> {
  const failures: string[] = [];
  for (const specifier of NATIVE_PACKAGES) {
    if (!isInstalled(specifier)) continue;
    try {
      // A variable specifier keeps bundlers and tsc from resolving the optional peer.
      const name: string = specifier;
      await import(name);
      if (tf.findBackendFactory('tensorflow') !== null) return true;
      failures.push(`${specifier}: loaded but registered no 'tensorflow' backend`);
    } catch (e) {
      // Installed but broken (e.g. libtensorflow missing): say so, never hide it.
      failures.push(`${specifier}: ${(e as Error).message}`);
    }
  }
  if (required) {
    throw new RemaxError('E_BACKEND', 'native TensorFlow backend requested but not available', {
      field: 'backend',
      value: 'tensorflow',
      expected:
        failures.length > 0
          ? `a working install (${failures.join('; ')})`
          : 'npm i @tensorflow/tfjs-node-gpu (or @tensorflow/tfjs-node) next to @remax/core',
    });
  }
  if (failures.length > 0)
    log(`[@remax/core] native backend unusable, using wasm: ${failures.join('; ')}`);
  return false;
}

/** Whether Node can resolve the package from here (installed next to @remax/core). */
function isInstalled(specifier: string): boolean {
  try {
    requireHere.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/** The one wasm start of this process (concurrent initBackend calls share it). */
let wasmStart: Promise<void> | null = null;

async function useWasm(options: BackendOptions): Promise<string> {
  // The thread count is fixed by the first start; later calls only switch to wasm.
  wasmStart ??= startWasm(options).catch((e: unknown) => {
    wasmStart = null;
    throw e;
  });
  await wasmStart;
  return use('wasm');
}

async function startWasm(options: BackendOptions): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Started elsewhere (tf.setBackend('wasm')): keep it. Look without
  // tf.findBackend, which would start an init of its own.
  if (tf.engine().registry['wasm'] !== undefined) {
    wasmThreadsInUse = wasm.getThreadsCount();
    return;
  }
  const log = options.log ?? console.warn;
  const threads = wasmThreadsWanted(options.wasmThreads);
  if (threads > 1) {
    const problem = threadShimProblem();
    if (problem === null) {
      const shims = installThreadShims(threads);
      wasm.setThreadsCount(threads);
      let outcome: boolean | 'timeout' | Error;
      try {
        outcome = await withTimeout(tf.setBackend('wasm'), THREADED_INIT_TIMEOUT_MS);
      } catch (e) {
        outcome = e instanceof Error ? e : new Error(String(e));
      } finally {
        shims.endInit();
      }
      if (outcome === true && tf.getBackend() === 'wasm') {
        wasmThreadsInUse = wasm.getThreadsCount();
        return;
      }
      shims.remove();
      const why =
        outcome === 'timeout' ? `no start within ${THREADED_INIT_TIMEOUT_MS} ms` : String(outcome);
      log(`[@remax/core] multithreaded wasm failed (${why}); using 1 thread`);
    } else {
      log(`[@remax/core] multithreaded wasm unavailable (${problem}); using 1 thread`);
    }
  }
  wasm.setThreadsCount(1);
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new RemaxError('E_BACKEND', 'backend failed to initialise', { value: 'wasm' });
  wasmThreadsInUse = 1;
}

export function wasmThreadsWanted(option: number | undefined): number {
  const fromEnv = process.env['REMAX_WASM_THREADS'];
  if (fromEnv !== undefined && fromEnv.length > 0) {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1) {
      throw new RemaxError('E_BACKEND', 'invalid wasm thread count', {
        field: 'REMAX_WASM_THREADS',
        value: fromEnv,
        expected: 'a positive integer (1 = single-threaded)',
      });
    }
    return n;
  }
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 1) {
      throw new RemaxError('E_BACKEND', 'invalid wasm thread count', {
        field: 'wasmThreads',
        value: option,
        expected: 'a positive integer (1 = single-threaded)',
      });
    }
    return option;
  }
  // Test runners start one process per core already; threads would oversubscribe.
  if (process.env['VITEST'] !== undefined) return 1;
  return os.availableParallelism();
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * tfjs's cpu backend prints "Hi, looks like you are running TensorFlow.js in
 * Node.js..." on its first tensor. We choose backends on purpose, so the
 * banner only confuses; its one-shot `firstUse` flag is cleared up front.
 */
function silenceNodeBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu !== null && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
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
