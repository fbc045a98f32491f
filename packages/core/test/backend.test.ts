import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { wasmThreadsWanted } from '../src/backend.js';
import { backendInfo, initBackend, isRemaxError, type RemaxError, tf } from '../src/index.js';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./helpers/backend-child.ts', import.meta.url));
const cwd = fileURLToPath(new URL('..', import.meta.url));

async function runChild(
  mode: string,
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--conditions=@remax/source', '--import', 'tsx', child, mode], {
    cwd,
    env: { ...process.env, REMAX_BACKEND: '', ...env },
    timeout: 90_000,
  });
}

const saved = { backend: process.env['REMAX_BACKEND'], threads: process.env['REMAX_WASM_THREADS'] };
afterEach(() => {
  for (const [key, value] of [
    ['REMAX_BACKEND', saved.backend],
    ['REMAX_WASM_THREADS', saved.threads],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

function nativeInstalled(): boolean {
  const require = createRequire(import.meta.url);
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(name);
      return true;
    } catch {
      // not installed
    }
  }
  return false;
}

describe('initBackend', () => {
  it('picks wasm by default and cpu on request; REMAX_BACKEND overrides the argument', async () => {
    delete process.env['REMAX_BACKEND'];
    expect(await initBackend('cpu')).toBe('cpu');
    expect(backendInfo()).toEqual({ name: 'cpu', wasmThreads: null });
    expect(await initBackend(nativeInstalled() ? 'wasm' : 'auto')).toBe('wasm');
    // threads are opt-in under vitest (REMAX_WASM_THREADS=2 pnpm vitest run)
    expect(backendInfo().wasmThreads).toBe(Number(saved.threads ?? 1));
    process.env['REMAX_BACKEND'] = 'cpu';
    expect(await initBackend('wasm')).toBe('cpu');
  });

  it('rejects an unknown backend with a typed error naming where it came from', async () => {
    process.env['REMAX_BACKEND'] = 'webgpu';
    const err = await initBackend().catch((e: unknown) => e);
    expect(isRemaxError(err, 'E_BACKEND')).toBe(true);
    expect((err as RemaxError).field).toBe('REMAX_BACKEND');
    expect((err as RemaxError).message).toMatch(/"webgpu".*auto \| wasm \| cpu \| tensorflow/);
    delete process.env['REMAX_BACKEND'];
    const err2 = await initBackend('gpu' as never).catch((e: unknown) => e);
    expect((err2 as RemaxError).field).toBe('preference');
  });

  it.skipIf(nativeInstalled())(
    'names the packages to install when tensorflow is requested but absent',
    async () => {
      delete process.env['REMAX_BACKEND'];
      const err = await initBackend('tensorflow').catch((e: unknown) => e);
      expect(isRemaxError(err, 'E_BACKEND')).toBe(true);
      expect((err as Error).message).toMatch(/@tensorflow\/tfjs-node-gpu.*@tensorflow\/tfjs-node/);
      expect(tf.getBackend()).not.toBe('tensorflow');
    },
  );

  it('reads the wasm thread count from REMAX_WASM_THREADS, the option, or the runner', () => {
    delete process.env['REMAX_WASM_THREADS'];
    expect(wasmThreadsWanted(undefined)).toBe(1); // under vitest
    expect(wasmThreadsWanted(3)).toBe(3);
    process.env['REMAX_WASM_THREADS'] = '2';
    expect(wasmThreadsWanted(3)).toBe(2);
    process.env['REMAX_WASM_THREADS'] = 'two';
    expect(() => wasmThreadsWanted(undefined)).toThrow(
      /REMAX_WASM_THREADS.*"two".*positive integer/,
    );
    delete process.env['REMAX_WASM_THREADS'];
    expect(() => wasmThreadsWanted(0)).toThrow(/wasmThreads/);
  });

  it('runs wasm on 2 threads bit-identical to 1 thread, with the tfjs Node banner silenced', async () => {
    const [control, two, one] = await Promise.all([
      runChild('banner-control', {}),
      runChild('threads', { REMAX_WASM_THREADS: '2' }),
      runChild('threads', { REMAX_WASM_THREADS: '1' }),
    ]);
    // Without initBackend tfjs prints its banner: the checks below can fail.
    expect(control.stdout + control.stderr).toMatch(
      /looks like you are running TensorFlow\.js in Node\.js/,
    );
    const a = JSON.parse(two.stdout.trim()) as { cpu: unknown; wasmThreads: number; hash: string };
    const b = JSON.parse(one.stdout.trim()) as { cpu: unknown; wasmThreads: number; hash: string };
    expect(a.cpu).toEqual({ name: 'cpu', wasmThreads: null });
    expect(b.wasmThreads).toBe(1);
    expect(a.wasmThreads).toBe(2);
    for (const out of [one, two])
      expect(out.stdout + out.stderr).not.toMatch(/looks like you are running|multithreaded wasm/);
    expect(a.hash).toBe(b.hash);
  });
});
