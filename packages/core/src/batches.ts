// Row micro-batching of sequence batches, shared by every algorithm: batches
// that do not fit one forward/backward pass are cut into row ranges.
import type { SequenceBatch } from './algorithm.js';
import { tf } from './tf.js';

/** [start, end) row ranges of at most `size` rows. */
export function microBatches(rows: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0; s < rows; s += size) out.push([s, Math.min(rows, s + size)]);
  return out;
}

/** Rows [s, e) of a batch as new tensors the caller disposes. */
export function sliceRows(batch: SequenceBatch, s: number, e: number): SequenceBatch {
  const T = batch.inputIds.shape[1];
  return {
    inputIds: tf.slice(batch.inputIds, [s, 0], [e - s, T]),
    attentionMask: tf.slice(batch.attentionMask, [s, 0], [e - s, T]),
    promptLength: batch.promptLength,
  };
}

export function disposeBatch(batch: SequenceBatch): void {
  tf.dispose([batch.inputIds, batch.attentionMask]);
}
