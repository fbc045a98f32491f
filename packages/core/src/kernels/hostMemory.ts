import { tf } from '../tf.js';

interface WasmBackendLike {
  typedArrayFromHeap(t: { shape: number[]; dtype: string; dataId: object }): Float32Array;
}

/**
 * A view (no copy) of a float32 tensor's storage when it lives in host memory:
 * the wasm heap or the cpu backend's arrays; null on other backends (GPU,
 * native TF), where callers use tensor ops instead.
 *
 * Why: on wasm, element-wise ops run at ~70 M elements/s and every tf.slice
 * copies its whole input (readSync), so a chunked log-softmax over
 * [B*T, 32000] logits costs seconds; one plain loop over the storage costs
 * a fraction of that. Views of the wasm heap are invalidated when the heap
 * grows: take them after allocating every output, and call no tf op while
 * using them. Writing through a view is only allowed for tensors the caller
 * has just created and owns.
 */
export function hostView(t: tf.Tensor): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const name = tf.getBackend();
  if (name === 'wasm') {
    return (tf.backend() as unknown as WasmBackendLike).typedArrayFromHeap(t);
  }
  if (name === 'cpu') {
    const values = tf.backend().readSync(t.dataId);
    return values instanceof Float32Array ? values : null;
  }
  return null;
}

interface WasmOutputMaker {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/**
 * A new float32 tensor for a host kernel to fill: uninitialised on wasm (no
 * zero fill; every element must be written), zeros elsewhere.
 */
export function allocateHost(shape: number[]): tf.Tensor {
  if (tf.getBackend() === 'wasm') {
    const info = (tf.backend() as unknown as WasmOutputMaker).makeOutput(shape, 'float32');
    return tf.engine().makeTensorFromTensorInfo(info);
  }
  return tf.zeros(shape, 'float32');
}
