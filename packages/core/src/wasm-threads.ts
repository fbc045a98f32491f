// Multithreaded tfjs wasm in Node (tfjs disables it there, tfjs issue #3830).
// Three runtime shims, no patched files:
// 1. force WASM_HAS_MULTITHREAD_SUPPORT to true so the threaded SIMD binary loads;
// 2. Emscripten starts its pthread workers with `new Worker(blobUrl)` and then
//    sends them the main script as a Blob; Node's worker_threads cannot start
//    either. Our `Worker` starts the package's own worker code (eval mode) and
//    rewrites the 'load' message to the file path of the threaded glue script;
// 3. the C++ side caps XNNPACK threads at half of os.cpus().length, so during
//    init os.cpus() reports twice the cores and N threads on N cores are granted.
// Results are bit-identical to one thread (XNNPACK splits work, not sums).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker as NodeWorker, type Transferable, type WorkerOptions } from 'node:worker_threads';
import { tf } from './tf.js';

const require = createRequire(import.meta.url);

interface LoadMessage {
  cmd?: unknown;
  urlOrBlob?: unknown;
}

function wasmOutDir(): string {
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  // main is <pkg>/dist/tf-backend-wasm.node.js
  return path.join(path.dirname(path.dirname(main)), 'wasm-out');
}

/**
 * Why the shims cannot work here, or null when they can: they rely on the
 * files and the worker 'load' protocol of the tfjs-backend-wasm 4.x build.
 */
export function threadShimProblem(): string | null {
  if (typeof SharedArrayBuffer !== 'function') return 'SharedArrayBuffer is not available';
  let dir: string;
  try {
    dir = wasmOutDir();
  } catch (e) {
    return `cannot locate @tensorflow/tfjs-backend-wasm (${(e as Error).message})`;
  }
  for (const file of [
    'tfjs-backend-wasm-threaded-simd.worker.js',
    'tfjs-backend-wasm-threaded-simd.js',
    'tfjs-backend-wasm-threaded-simd.wasm',
  ]) {
    if (!existsSync(path.join(dir, file))) return `missing ${file} in ${dir}`;
  }
  const code = workerContents(dir);
  if (code === null || !code.includes('e.data.urlOrBlob') || !code.includes('cmd==="load"')) {
    return 'the threaded worker script is not the Emscripten build these shims know';
  }
  return null;
}

function workerContents(dir: string): string | null {
  const mod = require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents?: unknown;
  };
  return typeof mod.wasmWorkerContents === 'string' ? mod.wasmWorkerContents : null;
}

/** Makes a Worker class Emscripten can use under Node for the threaded SIMD build. */
function makeEmscriptenWorker(dir: string): typeof NodeWorker {
  const contents = workerContents(dir) ?? '';
  // The template literal turned the code's "\n" escapes into real newlines;
  // put them back (tfjs does the same before making its Blob).
  const workerCode = contents.replace(/\n/g, '\\n');
  const glueScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  class EmscriptenWorker extends NodeWorker {
    // Emscripten passes a blob: URL of the same worker code; Node cannot start
    // that, so the code is started from source instead.
    constructor(_blobUrl: string | URL, options?: WorkerOptions) {
      super(workerCode, { ...options, eval: true });
      this.unref();
    }
    // Emscripten ref()s the workers running pthreads; XNNPACK's pool threads
    // live forever, so that would keep Node from exiting. The main thread
    // waits on them synchronously, so they never need to hold the loop open.
    override ref(): void {
      this.unref();
    }
    override postMessage(message: unknown, transferList?: readonly Transferable[]): void {
      const m = message as LoadMessage | null;
      if (m !== null && typeof m === 'object' && m.cmd === 'load') {
        // The worker importScripts() this: a file path works, a Blob does not.
        super.postMessage({ ...m, urlOrBlob: glueScript }, transferList);
        return;
      }
      super.postMessage(message, transferList);
    }
  }
  return EmscriptenWorker;
}

export interface ThreadShims {
  /** Undo the os.cpus() doubling (call once the backend is constructed). */
  endInit(): void;
  /** Undo every shim (after a failed threaded init, before a single-thread retry). */
  remove(): void;
}

/** Installs the three shims for `threads` threads; call before tf.setBackend('wasm'). */
export function installThreadShims(threads: number): ThreadShims {
  const dir = wasmOutDir();
  const EmscriptenWorker = makeEmscriptenWorker(dir);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  // Emscripten assigns globalThis.Worker = worker_threads.Worker while it starts;
  // the accessor keeps ours in place (the assignment is ignored).
  const g = globalThis as { Worker?: unknown };
  const previousWorker = Object.getOwnPropertyDescriptor(g, 'Worker');
  Object.defineProperty(g, 'Worker', {
    configurable: true,
    get: () => EmscriptenWorker,
    set: () => {},
  });
  const realCpus = os.cpus;
  const cores = realCpus().length;
  // Half of the reported cores is the cap, so report enough for `threads`.
  const reported = Math.max(cores, 2 * threads);
  os.cpus = () => {
    const list = realCpus();
    const first = list[0];
    return first === undefined
      ? list
      : Array.from({ length: reported }, (_, i) => list[i] ?? first);
  };
  let cpusRestored = false;
  const endInit = (): void => {
    if (cpusRestored) return;
    cpusRestored = true;
    os.cpus = realCpus;
  };
  return {
    endInit,
    remove: () => {
      endInit();
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (previousWorker) Object.defineProperty(g, 'Worker', previousWorker);
      else delete g.Worker;
    },
  };
}
