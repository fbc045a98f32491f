export {
  type Checkpoint,
  openCheckpoint,
  type ReadOptions,
  type TensorInfo,
} from './checkpoint.js';
export { bytesPerElement, type DType, type TypedArray } from './dtype.js';
export {
  bf16BitsToFloat32,
  f16BitsToFloat32,
  float32ToBf16Bits,
  float32ToF16Bits,
} from './halfFloat.js';
export { type TensorMap, writeSafetensors } from './safetensorsWriter.js';
export { type SaveShardedOptions, saveSharded } from './saveSharded.js';
export type { TensorEntry } from './tensorEntry.js';
