import { RemaxError } from '@remax/core';
import {
  arrayClassOf,
  bytesPerElement,
  type DType,
  elementCount,
  type TypedArray,
  type TypedArrayClass,
  viewAs,
} from './dtype.js';
import { readBytesAt, readExactly } from './fileRange.js';
import { bf16ToFloat32Array, f16ToFloat32Array } from './halfFloat.js';
import { acquireStaging, releaseStaging, type Staging } from './staging.js';
import { isContiguous, type TensorLocation } from './tensorSource.js';

// Conversions to float32 stream through two staging buffers of this size: small enough to stay
// in cache between fs filling one and the conversion reading it, large enough that per-read
// overhead is small (256 KiB measured clearly slower, 1-4 MiB alike).
const CHUNK_BYTES = 1 << 20;

export interface ReadTensorOptions {
  /** The caller's array to fill and return instead of a new one (exact type and length). */
  into?: TypedArray | undefined;
  /** Staging chunk size in bytes (tests force many small chunks). */
  chunkBytes?: number;
  /** Use the wasm SIMD bf16 kernel when the runtime has one (tests compare it with the JS loop). */
  simd?: boolean;
}

/**
 * Reads one tensor lazily (seek + read of its bytes only). Returns the dtype's own typed array,
 * or a Float32Array when `asFloat32`; `options.into` when given.
 */
export async function readTensor(
  name: string,
  loc: TensorLocation,
  asFloat32: boolean,
  options: ReadTensorOptions = {},
): Promise<TypedArray> {
  const { into, chunkBytes = CHUNK_BYTES, simd = true } = options;
  const size = bytesPerElement(loc.dtype);
  const count = elementCount(loc.shape);
  const byteLength = count * size;
  const what = `tensor ${JSON.stringify(name)}`;
  const converting = asFloat32 && loc.dtype !== 'F32';
  if (into !== undefined) {
    checkInto(name, loc, into, asFloat32 ? Float32Array : arrayClassOf(loc.dtype), count);
  }

  if (isContiguous(loc.shape, loc.strides) && !loc.bigEndian) {
    assertWithin(name, loc, byteLength);
    if (!converting) {
      if (into === undefined) {
        return viewAs(
          loc.dtype,
          await readBytesAt(loc.handle, loc.file, loc.position, byteLength, what),
        );
      }
      await readExactly(loc.handle, loc.file, loc.position, bytesOf(into), what);
      return into;
    }
    // Every element is written below (or the read throws and the array is dropped), so the
    // result skips the zero fill a Float32Array would get: 0.44 -> 0.56 of raw fresh reads.
    const out = (into as Float32Array | undefined) ?? uninitializedFloat32(count);
    await convertChunked(loc, byteLength, out, chunkBytes, simd, what);
    return out;
  }

  // Strided or big-endian storage: read the span the view touches, fix the byte order,
  // then gather the elements in C order.
  let spanElements = 1;
  for (let i = 0; i < loc.shape.length; i++) spanElements += (loc.shape[i]! - 1) * loc.strides[i]!;
  if (count === 0) spanElements = 0;
  const spanBytes = spanElements * size;
  assertWithin(name, loc, spanBytes);
  const raw = await readBytesAt(loc.handle, loc.file, loc.position, spanBytes, what);
  if (loc.bigEndian) swapBytes(raw, size);
  const gathered = isContiguous(loc.shape, loc.strides)
    ? raw.subarray(0, byteLength)
    : gather(raw, loc.shape, loc.strides, size);
  const typed = viewAs(loc.dtype, gathered);
  if (!converting) {
    if (into === undefined) return typed;
    bytesOf(into).set(bytesOf(typed));
    return into;
  }
  const out = (into as Float32Array | undefined) ?? new Float32Array(count);
  convertToFloat32(loc.dtype, typed, out, 0);
  return out;
}

/**
 * Reads `byteLength` bytes at `loc.position` through two staging buffers (in the wasm kernel's
 * memory when there is one), converting each chunk into `out` while fs fills the other buffer
 * on libuv's thread pool, so reading and converting can overlap. Besides `out`, a read only
 * touches the staging buffers, which stay cache-resident and are reused across reads.
 */
async function convertChunked(
  loc: TensorLocation,
  byteLength: number,
  out: Float32Array,
  chunkBytes: number,
  simd: boolean,
  what: string,
): Promise<void> {
  if (byteLength === 0) return;
  const size = bytesPerElement(loc.dtype);
  const wanted = Math.min(byteLength, chunkBytes);
  const step = Math.max(size, wanted - (wanted % size));
  const staging = acquireStaging(step);
  const readChunk = (which: 0 | 1, done: number) => {
    const target = staging.buffers[which].subarray(0, Math.min(step, byteLength - done));
    return readExactly(loc.handle, loc.file, loc.position + done, target, what);
  };
  let pending: Promise<void> | undefined = readChunk(0, 0);
  let which: 0 | 1 = 0;
  try {
    for (let done = 0; done < byteLength; done += step) {
      await pending;
      const next = done + step;
      pending = next < byteLength ? readChunk(which === 0 ? 1 : 0, next) : undefined;
      convertChunk(
        loc.dtype,
        staging,
        which,
        Math.min(step, byteLength - done),
        out,
        done / size,
        simd,
      );
      which = which === 0 ? 1 : 0;
    }
  } finally {
    // A read still in flight writes into the staging memory: wait for it before reuse.
    await pending?.catch(() => undefined);
    releaseStaging(staging);
  }
}

function convertChunk(
  dtype: DType,
  staging: Staging,
  which: 0 | 1,
  bytes: number,
  out: Float32Array,
  offset: number,
  simd: boolean,
): void {
  if (dtype === 'BF16') {
    staging.widenBf16(which, bytes, out, offset, simd);
    return;
  }
  const chunk = viewAs(dtype, staging.buffers[which].subarray(0, bytes));
  convertToFloat32(dtype, chunk, out, offset);
}

/** A Float32Array on its own ArrayBuffer whose contents are whatever the memory held. */
function uninitializedFloat32(count: number): Float32Array {
  return new Float32Array(Buffer.allocUnsafeSlow(4 * count).buffer, 0, count);
}

function bytesOf(array: TypedArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** `into` must be exactly what `read` would have returned: same array type and length. */
function checkInto(
  name: string,
  loc: TensorLocation,
  into: unknown,
  type: TypedArrayClass,
  count: number,
): void {
  const wanted = `${count} elements (${loc.dtype} ${JSON.stringify(loc.shape)}${
    type === Float32Array && loc.dtype !== 'F32' ? ' as float32' : ''
  })`;
  if (!(into instanceof type)) {
    const got = into === null || typeof into !== 'object' ? String(into) : into.constructor?.name;
    throw new RemaxError('E_INPUT', 'read option `into` has the wrong array type', {
      file: loc.file,
      field: name,
      value: got,
      expected: `a ${type.name} of ${wanted}`,
    });
  }
  if (into.length !== count) {
    throw new RemaxError('E_SHAPE', 'read option `into` has the wrong length', {
      file: loc.file,
      field: name,
      value: `${into.length} elements`,
      expected: wanted,
    });
  }
}

function assertWithin(name: string, loc: TensorLocation, bytes: number): void {
  if (bytes > loc.available) {
    throw new RemaxError('E_FORMAT', 'tensor extends past the end of its storage', {
      file: loc.file,
      field: name,
      value: `${bytes} bytes needed, ${loc.available} stored`,
    });
  }
}

/** Converts any dtype's typed array into `out` (float32) starting at element `offset`. */
export function convertToFloat32(
  dtype: DType,
  src: TypedArray,
  out: Float32Array,
  offset: number,
): void {
  if (dtype === 'BF16') bf16ToFloat32Array(src as Uint16Array, out, offset);
  else if (dtype === 'F16') f16ToFloat32Array(src as Uint16Array, out, offset);
  else if (src instanceof BigInt64Array) {
    for (let i = 0; i < src.length; i++) out[offset + i] = Number(src[i]!);
  } else out.set(src, offset);
}

function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Integer lanes of one element's width: copying through them is bit-exact (no float moves). */
interface Lanes {
  [index: number]: number | bigint;
  readonly length: number;
}

function lanes(bytes: Uint8Array, size: number): Lanes {
  const { buffer, byteOffset, byteLength } = bytes;
  if (size === 8) return new BigUint64Array(buffer, byteOffset, byteLength / 8);
  if (size === 4) return new Uint32Array(buffer, byteOffset, byteLength / 4);
  if (size === 2) return new Uint16Array(buffer, byteOffset, byteLength / 2);
  return bytes;
}

/** Copies a strided view into a new C-ordered buffer. */
function gather(raw: Uint8Array, shape: number[], strides: number[], size: number): Uint8Array {
  const count = elementCount(shape);
  const out = new Uint8Array(count * size);
  const src = lanes(raw, size);
  const dst = lanes(out, size);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastSize = rank === 0 ? 1 : shape[last]!;
  const lastStride = rank === 0 ? 0 : strides[last]!;
  let o = 0;
  while (o < count) {
    let base = 0;
    for (let d = 0; d < last; d++) base += index[d]! * strides[d]!;
    for (let j = 0; j < lastSize; j++) dst[o++] = src[base + j * lastStride]!;
    // Advance the multi-index over all but the last dimension (odometer order).
    for (let d = last - 1; d >= 0; d--) {
      index[d] = index[d]! + 1;
      if (index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}
