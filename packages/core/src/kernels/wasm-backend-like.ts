import type { tf } from '../tf.js';

/** The few members of tfjs-backend-wasm's BackendWasm that our JS kernels use. */
export interface WasmBackendLike {
  /** Copies a tensor's values out of the wasm heap. */
  readSync(dataId: object): ArrayLike<number>;
  /** Allocates an output tensor on the wasm heap (contents uninitialised). */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A live view of a tensor's heap memory; invalid after the heap grows. */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}
