import { RemaxError } from '@remax/core';
import { bytesPerElement, type DType, elementCount, type TypedArray, viewAs } from './dtype.js';
import { readBytesAt, readExactly } from './fileRange.js';
import { bf16ToFloat32Array, f16ToFloat32Array, f16ToFloat32BitsTable } from './halfFloat.js';
import { isContiguous, type TensorLocation } from './tensorSource.js';

// Integer/F64 conversions to float32 stream through a scratch buffer of this size, so peak
// memory stays near the float32 result instead of result + whole source tensor.
const CONVERT_CHUNK_BYTES = 16 << 20;

/**
 * Reads one tensor lazily (seek + read of its bytes only). Returns the dtype's own typed array,
 * or a Float32Array when `asFloat32`.
 */
export async function readTensor(
  name: string,
  loc: TensorLocation,
  asFloat32: boolean,
  chunkLimit = CONVERT_CHUNK_BYTES,
): Promise<TypedArray> {
  const size = bytesPerElement(loc.dtype);
  const count = elementCount(loc.shape);
  const byteLength = count * size;
  const what = `tensor ${JSON.stringify(name)}`;

  if (isContiguous(loc.shape, loc.strides) && !loc.bigEndian) {
    assertWithin(name, loc, byteLength);
    if (!asFloat32 || loc.dtype === 'F32') {
      const bytes = await readBytesAt(loc.handle, loc.file, loc.position, byteLength, what);
      return viewAs(loc.dtype, bytes);
    }
    if (loc.dtype === 'BF16' || loc.dtype === 'F16') {
      // Read the 16-bit values into the upper half of the result and widen in place, front
      // to back: element i is read before out[i] overwrites it. One pass, no scratch buffer,
      // peak memory = the float32 result.
      const out = new Float32Array(count);
      const upper = new Uint8Array(out.buffer, byteLength, byteLength);
      await readExactly(loc.handle, loc.file, loc.position, upper, what);
      widenInPlace(loc.dtype, out, count);
      return out;
    }
    const out = new Float32Array(count);
    const chunkBytes = Math.max(size, chunkLimit - (chunkLimit % size));
    const scratch = new Uint8Array(Math.min(byteLength, chunkBytes));
    for (let done = 0; done < byteLength; done += scratch.byteLength) {
      const chunk = scratch.subarray(0, Math.min(scratch.byteLength, byteLength - done));
      await readExactly(loc.handle, loc.file, loc.position + done, chunk, what);
      convertToFloat32(loc.dtype, viewAs(loc.dtype, chunk), out, done / size);
    }
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
  if (!asFloat32 || loc.dtype === 'F32') return typed;
  const out = new Float32Array(count);
  convertToFloat32(loc.dtype, typed, out, 0);
  return out;
}

/** Widens `count` 16-bit floats stored in the upper half of `out`'s buffer into float32. */
function widenInPlace(dtype: 'BF16' | 'F16', out: Float32Array, count: number): void {
  const src = new Uint16Array(out.buffer, count * 2, count);
  const dst = new Uint32Array(out.buffer, 0, count);
  if (dtype === 'BF16' && count % 2 === 0) {
    // Two bf16 values per 32-bit load (about 1.5x faster than one per load). Little-endian:
    // the low half is element 2k, the high half element 2k + 1.
    const pairs = new Uint32Array(out.buffer, count * 2, count / 2);
    for (let k = 0; k < pairs.length; k++) {
      const w = pairs[k]!;
      dst[2 * k] = w << 16;
      dst[2 * k + 1] = w & 0xffff0000;
    }
  } else if (dtype === 'BF16') {
    for (let i = 0; i < count; i++) dst[i] = src[i]! << 16;
  } else {
    const table = f16ToFloat32BitsTable();
    for (let i = 0; i < count; i++) dst[i] = table[src[i]!]!;
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
