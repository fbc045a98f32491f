import { tf } from '@remax/core';

/**
 * The index of the last position whose mask is 1, per row (what UltraRM's
 * `attention_mask.cumsum(1).argmax(1)` picks); -1 for an all-zero row.
 */
export function lastRealIndex(mask: readonly (readonly number[])[]): number[] {
  return mask.map((row) => row.lastIndexOf(1));
}

/**
 * Gathers hidden[b, lastIndex[b], :] and applies a [1, H] linear head (no bias):
 * one scalar per row, [B]. Pure tensor math, for use inside tf.tidy.
 */
export function headAtPositions(
  hidden: tf.Tensor3D,
  lastIndex: readonly number[],
  headWeight: tf.Tensor2D,
): tf.Tensor1D {
  const [B, T, H] = hidden.shape;
  const flat = tf.reshape(hidden, [B * T, H]); // [B*T, H]
  const at = tf.tensor1d(
    lastIndex.map((t, b) => b * T + t),
    'int32',
  );
  const rows = tf.gather(flat, at); // [B, H]
  // [1, H] -> [H, 1] is a reshape (same memory order), so the matMul stays plain 2-D
  return tf.reshape(tf.matMul(rows, tf.reshape(headWeight, [H, 1])), [B]); // [B]
}
