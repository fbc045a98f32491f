// tfjs-backend-wasm 4.22's Identity copies its input into a new buffer. The
// engine clones (Identity) every tensor a gradient saves, so each saved
// activation, weight and logits tensor was copied once per forward under a
// tape (131 MB for [8, 128, 32000] logits). Tensors are immutable, so the
// clone can share the input's storage with a reference count, as the cpu
// backend's Identity does.
import { tf } from '../tf.js';

const IDENTITY = 'Identity';
let installed = false;

interface RefCounted {
  incRef(dataId: object): void;
}

/** Replaces the wasm Identity kernel by a shared-storage one (idempotent). */
export function shareWasmIdentity(): void {
  if (installed) return;
  const native = tf.getKernel(IDENTITY, 'wasm');
  if (native === undefined) return; // wasm backend not imported yet
  installed = true;
  tf.unregisterKernel(IDENTITY, 'wasm');
  tf.registerKernel({
    kernelName: IDENTITY,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      if (x.dtype === 'string') return native.kernelFunc(args);
      (args.backend as RefCounted).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}
