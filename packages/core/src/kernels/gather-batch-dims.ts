// tfjs-backend-wasm 4.22's GatherV2 returns wrong rows when batchDims > 0 (its
// C++ side walks the indices of later batches at the wrong offset: gather of
// x [2, 5] by [[0, 4, 4], [1, 1, 2]] with batchDims 1 yields x[1, [4, 1, 1]]
// for the second row). We keep the native kernel for batchDims == 0 and route
// batchDims > 0 to this JS copy loop, which follows TensorFlow's definition:
// out[b, o, n, s] = x[b, o, indices[b, n], s].
import { RemaxError } from '../errors.js';
import { tf } from '../tf.js';
import type { WasmBackendLike } from './wasm-backend-like.js';

const GATHER_V2 = 'GatherV2';
let installed = false;

function gatherWithBatchDims(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  indices: tf.TensorInfo,
  axis: number,
  batchDims: number,
): tf.TensorInfo {
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
    x as tf.Tensor,
    indices as tf.Tensor,
    axis,
    batchDims,
  );
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  const idx = backend.readSync(indices.dataId);
  const perBatch = idx.length / batchSize;
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i] as number;
    if (!(v >= 0 && v < dimSize)) {
      throw new RemaxError('E_INPUT', 'gather index out of range', {
        field: 'GatherV2.indices',
        value: v,
        expected: `an integer in [0, ${dimSize - 1}]`,
      });
    }
  }
  const xv = backend.readSync(x.dataId);
  const outValues = new (x.dtype === 'float32' ? Float32Array : Int32Array)(
    batchSize * outerSize * perBatch * sliceSize,
  );
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < outerSize; r++) {
      const rowBase = (b * outerSize + r) * dimSize;
      for (let n = 0; n < perBatch; n++) {
        const src = (rowBase + (idx[b * perBatch + n] as number)) * sliceSize;
        for (let s = 0; s < sliceSize; s++) outValues[o++] = xv[src + s] as number;
      }
    }
  }
  const out = backend.makeOutput(info.outputShape, x.dtype);
  backend.typedArrayFromHeap(out).set(outValues);
  return out;
}

/** Wraps the wasm GatherV2 kernel so batchDims > 0 is computed correctly (idempotent). */
export function fixWasmGatherBatchDims(): void {
  if (installed) return;
  const native = tf.getKernel(GATHER_V2, 'wasm');
  if (native === undefined) return; // wasm backend not imported yet
  installed = true;
  tf.unregisterKernel(GATHER_V2, 'wasm');
  const config: tf.KernelConfig = {
    kernelName: GATHER_V2,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const batchDims = (args.attrs?.['batchDims'] as number | undefined) ?? 0;
      const x = args.inputs['x'];
      const indices = args.inputs['indices'];
      if (batchDims === 0 || x === undefined || indices === undefined)
        return native.kernelFunc(args);
      const axis = tf.util.parseAxisParam(args.attrs?.['axis'] as number, x.shape)[0] as number;
      return gatherWithBatchDims(args.backend as WasmBackendLike, x, indices, axis, batchDims);
    },
  };
  if (native.setupFunc !== undefined) config.setupFunc = native.setupFunc;
  if (native.disposeFunc !== undefined) config.disposeFunc = native.disposeFunc;
  tf.registerKernel(config);
}
