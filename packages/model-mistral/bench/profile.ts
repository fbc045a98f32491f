import { tf } from '@remax/core';

/**
 * Where one forward's wall time goes, by kind of work: every registered kernel
 * of the backend is wrapped with a timer (wasm kernels are synchronous, so a
 * kernel's wall time is its cost), and the rest of the wall time is JS: the
 * host-memory loops, input checks and tfjs bookkeeping.
 */
export function profileByKind(
  run: () => void,
  kindOf: (kernel: string, inputShapes: number[][]) => string,
): Record<string, number> {
  const backend = tf.getBackend();
  const kernels = tf.getKernelsForBackend(backend);
  const ms: Record<string, number> = {};
  let depth = 0; // kernels that call kernels count once, at the outermost
  for (const k of kernels) {
    const inner = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        if (depth > 0) return inner(args);
        depth++;
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          depth--;
          const shapes = Object.values(args.inputs).map((t) => (t as tf.TensorInfo).shape);
          const kind = kindOf(k.kernelName, shapes);
          ms[kind] = (ms[kind] ?? 0) + performance.now() - t0;
        }
      },
    });
  }
  try {
    const t0 = performance.now();
    run();
    const wall = performance.now() - t0;
    const inKernels = Object.values(ms).reduce((a, b) => a + b, 0);
    return { wall, ...ms, js_host_loops_and_overhead: wall - inKernels };
  } finally {
    for (const k of kernels) {
      tf.unregisterKernel(k.kernelName, backend);
      tf.registerKernel(k);
    }
  }
}
