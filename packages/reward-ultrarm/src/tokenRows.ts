import { RemaxError, type tf } from '@remax/core';

/** Token ids or a mask, as a tensor [B, T] or as nested arrays. */
export type IntMatrix = tf.Tensor2D | readonly (readonly number[])[];

/** Reads an int matrix into plain arrays (tensors are read, not disposed). */
export function toRows(m: IntMatrix): number[][] {
  return Array.isArray(m) ? m.map((r) => Array.from(r)) : (m as tf.Tensor2D).arraySync();
}

/**
 * Checks that ids and mask have the same [B, T] shape, the mask is 0/1 and every
 * row has at least one real token; names the field and row on failure.
 */
export function checkIdsAndMask(ids: readonly number[][], mask: readonly number[][]): void {
  if (ids.length !== mask.length) {
    throw new RemaxError('E_SHAPE', 'inputIds and attentionMask have different batch sizes', {
      field: 'attentionMask',
      value: mask.length,
      expected: `${ids.length} rows`,
    });
  }
  ids.forEach((row, b) => {
    const m = mask[b] ?? [];
    if (m.length !== row.length) {
      throw new RemaxError('E_SHAPE', 'attentionMask row length differs from inputIds', {
        field: `attentionMask[${b}]`,
        value: m.length,
        expected: `${row.length}`,
      });
    }
    let real = 0;
    m.forEach((v, t) => {
      if (v !== 0 && v !== 1) {
        throw new RemaxError('E_INPUT', 'attentionMask must hold only 0 and 1', {
          field: `attentionMask[${b}][${t}]`,
          value: v,
          expected: '0 or 1',
        });
      }
      real += v;
    });
    if (real === 0) {
      throw new RemaxError('E_INPUT', 'a row has no real token (its mask is all 0)', {
        field: `attentionMask[${b}]`,
        expected: 'at least one 1',
      });
    }
  });
}

/** The ids whose mask is 1, in order (the row without its padding). */
export function realTokens(ids: readonly number[], mask: readonly number[]): number[] {
  const out: number[] = [];
  ids.forEach((id, t) => {
    if (mask[t] === 1) out.push(id);
  });
  return out;
}
