// tfjs-backend-wasm 4.22 ships no UnsortedSegmentSum kernel, and the gradient of
// `gather` (embedding backward) is built on it. This JS kernel fills the gap:
// out[s, ...] = sum of x[i, ...] over every i with segmentIds[i] == s.
// Rows are added in index order in float32, the same order as the cpu backend
// (which sums a masked copy of x along axis 0), so the two agree bit for bit.
import { RemaxError } from '../errors.js';
import { tf } from '../tf.js';
import type { WasmBackendLike } from './wasm-backend-like.js';

const UNSORTED_SEGMENT_SUM = 'UnsortedSegmentSum';

function unsortedSegmentSumWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs['x'];
  const segmentIds = args.inputs['segmentIds'];
  const numSegments = args.attrs?.['numSegments'];
  if (x === undefined || segmentIds === undefined || typeof numSegments !== 'number') {
    throw new RemaxError(
      'E_INPUT',
      'UnsortedSegmentSum needs inputs x, segmentIds and attr numSegments',
      {
        field: 'UnsortedSegmentSum',
        expected: '{x, segmentIds} and {numSegments: number}',
      },
    );
  }
  const idsRank = segmentIds.shape.length;
  const prefixMatches =
    idsRank <= x.shape.length && segmentIds.shape.every((d, i) => d === x.shape[i]);
  if (!prefixMatches) {
    throw new RemaxError('E_SHAPE', 'segmentIds shape must be a prefix of x shape', {
      field: 'UnsortedSegmentSum.segmentIds',
      value: { x: x.shape, segmentIds: segmentIds.shape },
      expected: `segmentIds.shape == x.shape.slice(0, ${idsRank})`,
    });
  }
  const innerShape = x.shape.slice(idsRank);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  // readSync copies out of the wasm heap, so these stay valid after makeOutput grows it.
  const xValues = backend.readSync(x.dataId);
  const ids = backend.readSync(segmentIds.dataId);
  const acc = new (x.dtype === 'int32' ? Int32Array : Float32Array)(numSegments * inner);
  for (let row = 0; row < ids.length; row++) {
    const s = ids[row] as number;
    // TensorFlow drops ids outside [0, numSegments) rather than failing.
    if (s < 0 || s >= numSegments) continue;
    const src = row * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++)
      acc[dst + k] = (acc[dst + k] as number) + (xValues[src + k] as number);
  }
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  backend.typedArrayFromHeap(out).set(acc);
  return out;
}

/** Registers the kernel for the wasm backend once (idempotent). */
export function registerUnsortedSegmentSumWasm(): void {
  if (tf.getKernel(UNSORTED_SEGMENT_SUM, 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: UNSORTED_SEGMENT_SUM,
    backendName: 'wasm',
    kernelFunc: unsortedSegmentSumWasm as tf.KernelFunc,
  });
}
