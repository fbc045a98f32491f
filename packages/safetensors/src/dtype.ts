import { RemaxError } from '@remax/core';

/** Element types of the safetensors format that this package reads and writes. */
export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/**
 * The typed array a tensor's data comes in. F16 and BF16 are raw bit patterns in a
 * Uint16Array unless converted (`read(name, {as: 'float32'})`); BOOL is a Uint8Array of 0/1.
 */
export type TypedArray =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

export const DTYPES: readonly DType[] = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U8',
  'BOOL',
];

const BYTES_PER_ELEMENT: Record<DType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(BYTES_PER_ELEMENT, value);
}

export function bytesPerElement(dtype: DType): number {
  return BYTES_PER_ELEMENT[dtype];
}

/** Number of elements of a shape (1 for a scalar `[]`). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Views little-endian bytes as the typed array of `dtype`, copying only when the bytes are
 * not aligned for that element size (typed arrays require aligned offsets).
 */
export function viewAs(dtype: DType, bytes: Uint8Array): TypedArray {
  const size = bytesPerElement(dtype);
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = aligned;
  const n = aligned.byteLength / size;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer, byteOffset, n);
    case 'F32':
      return new Float32Array(buffer, byteOffset, n);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, n);
    case 'I32':
      return new Int32Array(buffer, byteOffset, n);
    case 'I16':
      return new Int16Array(buffer, byteOffset, n);
    case 'I8':
      return new Int8Array(buffer, byteOffset, n);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer, byteOffset, n);
  }
}

/** The class of the typed array `read` returns for `dtype` (without conversion). */
export interface TypedArrayClass {
  new (length: number): TypedArray;
  readonly name: string;
  readonly prototype: TypedArray;
}

const ARRAY_CLASSES: Record<DType, TypedArrayClass> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

export function arrayClassOf(dtype: DType): TypedArrayClass {
  return ARRAY_CLASSES[dtype];
}

/** The typed array class `data` must be for `dtype` when written (F16/BF16 also accept Float32Array). */
export function expectedArrayName(dtype: DType): string {
  switch (dtype) {
    case 'F64':
      return 'Float64Array';
    case 'F32':
      return 'Float32Array';
    case 'F16':
    case 'BF16':
      return 'Uint16Array (raw bits) or Float32Array';
    case 'I64':
      return 'BigInt64Array';
    case 'I32':
      return 'Int32Array';
    case 'I16':
      return 'Int16Array';
    case 'I8':
      return 'Int8Array';
    case 'U8':
    case 'BOOL':
      return 'Uint8Array';
  }
}

export function assertDType(value: unknown, where: { file?: string; field?: string }): DType {
  if (isDType(value)) return value;
  throw new RemaxError('E_FORMAT', 'unknown dtype', {
    ...where,
    value,
    expected: `one of ${DTYPES.join(', ')}`,
  });
}
