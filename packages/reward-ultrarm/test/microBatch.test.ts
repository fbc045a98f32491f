import { describe, expect, it } from 'vitest';
import { lastRealIndex } from '../src/lastPosition.js';
import { microBatchPlan, padRight, scoreInMicroBatches } from '../src/microBatch.js';

describe('micro-batching', () => {
  it('groups longest first, ties in input order, every row once', () => {
    const lengths = [3, 9, 3, 7, 1, 9];
    const plan = microBatchPlan(lengths, 4);
    expect(plan).toEqual([
      [1, 5, 3, 0],
      [2, 4],
    ]);
    expect(plan.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('rejects a non-positive size', () => {
    expect(() => microBatchPlan([1], 0)).toThrow(/micro-batch size/);
  });

  it('returns scores in input order whatever the batch size', async () => {
    const rows = [[5], [1, 2, 3], [7, 7], [4, 4, 4, 4], [9]];
    // a per-row function of the ids, so any mix-up of rows shows
    const naive = Float32Array.from(rows.map((r) => r.reduce((a, b) => a * 31 + b, 0)));
    for (const size of [1, 2, 3, 8]) {
      const seen: number[] = [];
      const got = await scoreInMicroBatches(rows, size, async (group) => {
        seen.push(group.length);
        return Float32Array.from(group.map((r) => r.reduce((a, b) => a * 31 + b, 0)));
      });
      expect(Array.from(got)).toEqual(Array.from(naive));
      expect(Math.max(...seen)).toBeLessThanOrEqual(size);
    }
  });

  it('right-pads to the longest row and marks the last real index', () => {
    const { inputIds, attentionMask, lastIndex } = padRight([[1, 2, 3], [4]], 0);
    expect(inputIds).toEqual([
      [1, 2, 3],
      [4, 0, 0],
    ]);
    expect(attentionMask).toEqual([
      [1, 1, 1],
      [1, 0, 0],
    ]);
    expect(lastIndex).toEqual([2, 0]);
  });

  it('finds the last position whose mask is 1 (left or right padding)', () => {
    expect(
      lastRealIndex([
        [1, 1, 0, 0],
        [0, 0, 1, 1],
        [0, 1, 1, 0],
      ]),
    ).toEqual([1, 3, 2]);
  });
});
