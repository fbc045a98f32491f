import type { FileHandle } from 'node:fs/promises';
import type { DType } from './dtype.js';

/** Where one tensor's elements live in a file, enough to read it lazily. */
export interface TensorLocation {
  /** File path, for error messages. */
  file: string;
  handle: FileHandle;
  dtype: DType;
  shape: number[];
  /** Absolute file position of the tensor's first element. */
  position: number;
  /** Element strides; C-contiguous for safetensors. */
  strides: number[];
  /** Bytes readable from `position` (the tensor's storage), to bound strided reads. */
  available: number;
  /** Elements stored big-endian (PyTorch archives written on big-endian machines). */
  bigEndian: boolean;
}

/** One opened file that holds tensors (a .safetensors file or a PyTorch .bin archive). */
export interface TensorSource {
  readonly file: string;
  names(): string[];
  locate(name: string): TensorLocation | undefined;
  close(): Promise<void>;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i]!;
  }
  return strides;
}

/** True when strides describe C order (dimensions of size 1 may carry any stride). */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const size = shape[i]!;
    if (size !== 1 && strides[i] !== step) return false;
    step *= size;
  }
  return true;
}
