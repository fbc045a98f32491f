import { RemaxError } from '@remax/core';

/**
 * Groups row indices into micro-batches of at most `size` rows, longest rows
 * first, so rows of similar length share a batch and little padding is computed.
 * Ties keep input order (a stable plan: same input, same batches).
 */
export function microBatchPlan(lengths: readonly number[], size: number): number[][] {
  checkMicroBatchSize(size);
  const order = lengths
    .map((_, i) => i)
    .sort((a, b) => (lengths[b] ?? 0) - (lengths[a] ?? 0) || a - b);
  const plan: number[][] = [];
  for (let i = 0; i < order.length; i += size) plan.push(order.slice(i, i + size));
  return plan;
}

/** Throws a typed error unless `size` is a positive integer. */
export function checkMicroBatchSize(size: number): void {
  if (!Number.isInteger(size) || size < 1) {
    throw new RemaxError('E_CONFIG', 'micro-batch size must be a positive integer', {
      field: 'microBatchSize',
      value: size,
    });
  }
}

/** Right-pads rows to their longest length; returns ids, mask and each row's last real index. */
export function padRight(
  rows: readonly (readonly number[])[],
  padId: number,
): { inputIds: number[][]; attentionMask: number[][]; lastIndex: number[] } {
  const width = Math.max(...rows.map((r) => r.length));
  return {
    inputIds: rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(padId)]),
    attentionMask: rows.map((r) => [
      ...new Array<number>(r.length).fill(1),
      ...new Array<number>(width - r.length).fill(0),
    ]),
    lastIndex: rows.map((r) => r.length - 1),
  };
}

/**
 * Runs `scoreBatch` over micro-batches of `rows` (sorted by length) and returns
 * one score per row in INPUT order.
 */
export async function scoreInMicroBatches(
  rows: readonly (readonly number[])[],
  size: number,
  scoreBatch: (batchRows: readonly (readonly number[])[]) => Promise<Float32Array>,
): Promise<Float32Array> {
  const out = new Float32Array(rows.length);
  for (const group of microBatchPlan(
    rows.map((r) => r.length),
    size,
  )) {
    const scores = await scoreBatch(group.map((i) => rows[i] ?? []));
    group.forEach((row, j) => {
      out[row] = scores[j] ?? Number.NaN;
    });
  }
  return out;
}
