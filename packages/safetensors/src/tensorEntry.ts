import { RemaxError } from '@remax/core';
import {
  bytesPerElement,
  type DType,
  elementCount,
  expectedArrayName,
  isDType,
  type TypedArray,
} from './dtype.js';

/** A tensor to write. For F16/BF16, `data` may be a Float32Array: it is rounded on write. */
export interface TensorEntry {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

/** Stored byte size of an entry (in its dtype, whatever array `data` is). */
export function storedBytes(entry: TensorEntry): number {
  return elementCount(entry.shape) * bytesPerElement(entry.dtype);
}

function arrayMatches(dtype: DType, data: TypedArray): boolean {
  switch (dtype) {
    case 'F64':
      return data instanceof Float64Array;
    case 'F32':
      return data instanceof Float32Array;
    case 'F16':
    case 'BF16':
      return data instanceof Uint16Array || data instanceof Float32Array;
    case 'I64':
      return data instanceof BigInt64Array;
    case 'I32':
      return data instanceof Int32Array;
    case 'I16':
      return data instanceof Int16Array;
    case 'I8':
      return data instanceof Int8Array;
    case 'U8':
    case 'BOOL':
      return data instanceof Uint8Array;
  }
}

/** Checks name, dtype, shape, array type and length before anything is written. */
export function validateEntry(name: string, entry: TensorEntry, file: string): void {
  if (name === '' || name === '__metadata__') {
    throw new RemaxError('E_INPUT', 'invalid tensor name', {
      file,
      value: name,
      expected: 'a non-empty name other than __metadata__',
    });
  }
  if (!isDType(entry.dtype)) {
    throw new RemaxError('E_INPUT', 'unknown dtype', { file, field: name, value: entry.dtype });
  }
  if (!Array.isArray(entry.shape) || !entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RemaxError('E_SHAPE', 'invalid shape', {
      file,
      field: name,
      value: entry.shape,
      expected: 'an array of non-negative integers',
    });
  }
  if (!arrayMatches(entry.dtype, entry.data)) {
    throw new RemaxError('E_INPUT', 'data array does not match the dtype', {
      file,
      field: name,
      value: `${entry.data?.constructor?.name ?? typeof entry.data} for ${entry.dtype}`,
      expected: expectedArrayName(entry.dtype),
    });
  }
  const count = elementCount(entry.shape);
  if (entry.data.length !== count) {
    throw new RemaxError('E_SHAPE', 'data length does not match the shape', {
      file,
      field: name,
      value: `${entry.data.length} elements for shape ${JSON.stringify(entry.shape)}`,
      expected: `${count} elements`,
    });
  }
  if (entry.dtype === 'BOOL') {
    const bad = (entry.data as Uint8Array).findIndex((v) => v > 1);
    if (bad >= 0) {
      throw new RemaxError('E_INPUT', 'BOOL data must be 0 or 1', {
        file,
        field: `${name}[${bad}]`,
        value: entry.data[bad],
      });
    }
  }
}
