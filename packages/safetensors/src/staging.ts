import { createSimdWidener } from './bf16Simd.js';
import { bf16ToFloat32Array } from './halfFloat.js';

/**
 * Two read buffers for converting reads: fs fills one while the other is converted, so the
 * source bytes never take a second tensor-sized allocation. Kept for reuse between reads.
 */
export interface Staging {
  /** Bytes of each buffer (a multiple of 16, so both are aligned for every dtype). */
  readonly capacity: number;
  readonly buffers: readonly [Uint8Array, Uint8Array];
  /** Widens the bf16 values of `buffers[which].subarray(0, bytes)` into `out` from `offset`. */
  widenBf16(which: 0 | 1, bytes: number, out: Float32Array, offset: number, simd: boolean): void;
}

export function createStaging(bytes: number): Staging {
  const capacity = Math.max(16, Math.ceil(bytes / 16) * 16);
  // Layout: input A | input B | float32 output of one buffer (wasm writes there, then one copy).
  const simd = createSimdWidener(4 * capacity);
  const buffer = simd?.buffer ?? new ArrayBuffer(2 * capacity);
  const buffers = [
    new Uint8Array(buffer, 0, capacity),
    new Uint8Array(buffer, capacity, capacity),
  ] as const;
  const widened = simd && new Uint32Array(buffer, 2 * capacity, capacity / 2);
  return {
    capacity,
    buffers,
    widenBf16(which, bytes, out, offset, useSimd) {
      const input = buffers[which];
      const count = bytes / 2;
      if (simd === undefined || widened === undefined || !useSimd) {
        bf16ToFloat32Array(new Uint16Array(input.buffer, input.byteOffset, count), out, offset);
        return;
      }
      const vectorBytes = bytes - (bytes % 16);
      simd.widen(input.byteOffset, 2 * capacity, input.byteOffset + vectorBytes);
      const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
      bits.set(widened.subarray(0, vectorBytes / 2), offset);
      for (let i = vectorBytes / 2; i < count; i++) {
        bits[offset + i] = (input[2 * i]! | (input[2 * i + 1]! << 8)) << 16;
      }
    },
  };
}

// One idle staging area is kept (the largest seen, at most CHUNK_BYTES x 4 with the output
// region); concurrent reads make their own, sized to their tensor, and drop them after.
let idle: Staging | undefined;

export function acquireStaging(bytes: number): Staging {
  const kept = idle;
  if (kept !== undefined && kept.capacity >= bytes) {
    idle = undefined;
    return kept;
  }
  return createStaging(bytes);
}

export function releaseStaging(staging: Staging): void {
  if (idle === undefined || staging.capacity > idle.capacity) idle = staging;
}
