import { allocateHost, hostView, RemaxError, tf } from '@remax/core';

/**
 * Helpers for host kernels: plain loops and copies over a tensor's storage
 * (the wasm heap or the cpu backend's arrays). On wasm a reverse, an unstack
 * or a strided layout change through tensor ops costs far more than one loop
 * or memcpy over the same memory (tf.slice copies its whole input first).
 */

/** Whether host kernels can run on `t` (wasm or cpu storage, float32). */
export function onHost(t: tf.Tensor): boolean {
  return hostView(t) !== null;
}

/** The storage of `t`; valid until the next tensor allocation (the wasm heap may grow). */
export function view(t: tf.Tensor): Float32Array {
  const v = hostView(t);
  if (v === null) {
    throw new RemaxError('E_BACKEND', 'host kernel on a tensor outside host memory', {
      field: 'backend',
      value: tf.getBackend(),
      expected: 'wasm or cpu',
    });
  }
  return v;
}

/**
 * A new float32 tensor for a host kernel to fill: uninitialised on wasm (every
 * element must be written), zeros elsewhere.
 */
export const allocate = allocateHost;

/** x [G, ...rest] -> G tensors [...rest], one memcpy each. */
export function unstackHost(x: tf.Tensor): tf.Tensor[] {
  const [G, ...rest] = x.shape as [number, ...number[]];
  const size = rest.reduce((a, b) => a * b, 1);
  const parts = Array.from({ length: G }, () => allocate(rest));
  const src = view(x); // after the allocations
  parts.forEach((p, g) => {
    view(p).set(src.subarray(g * size, (g + 1) * size));
  });
  return parts;
}

/** G tensors of one shape -> [G, ...shape], one memcpy each. */
export function stackHost(parts: tf.Tensor[]): tf.Tensor {
  const shape = (parts[0] as tf.Tensor).shape;
  const out = allocate([parts.length, ...shape]);
  const dst = view(out);
  parts.forEach((p, g) => {
    dst.set(view(p), g * p.size);
  });
  return out;
}
