// Ordering helpers for one logits row: the canonical token order used by
// top-k / top-p is "higher logit first, lower token id first on ties".

import { RemaxError } from '@remax/core';

/** Largest vocabulary a packed order key can hold: 32 bits of logit + index bits <= 53. */
export const MAX_VOCAB = 1 << 21;

/**
 * Packs (logit, token id) of a float32 logit into one float64 whose ascending
 * numeric order is ascending logit, then DEScending id. Reading a sorted key
 * array from its end therefore gives the canonical order (higher logit first,
 * lower id first on ties), and the native Float64Array sort (no comparator)
 * does the work.
 */
export class OrderKeys {
  readonly indexBits: number;
  private readonly indexScale: number;
  private readonly indexMask: number;

  constructor(vocabSize: number) {
    if (vocabSize > MAX_VOCAB) {
      throw new RemaxError('E_UNSUPPORTED', 'vocabulary too large for the sampler', {
        field: 'vocabSize',
        value: vocabSize,
        expected: `at most ${MAX_VOCAB} tokens`,
      });
    }
    this.indexBits = Math.max(1, Math.ceil(Math.log2(vocabSize)));
    this.indexScale = 2 ** this.indexBits;
    this.indexMask = this.indexScale - 1;
  }

  /** `bits` is the raw uint32 pattern of the float32 logit (NaN excluded by the caller). */
  pack(bits: number, id: number): number {
    return orderedBits(bits) * this.indexScale + (this.indexMask - id);
  }

  idOf(key: number): number {
    return this.indexMask - (key % this.indexScale);
  }
}

/** Maps float32 bit patterns to uint32 with the same order as the float values (-0 == +0). */
function orderedBits(bits: number): number {
  if (bits === 0x80000000) return 0x80000000; // -0 sorts with +0
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

/**
 * The k-th largest value of `row` (k >= 1), by three-way quickselect on
 * `scratch` (a copy of the row; O(V) expected, ties handled in one partition).
 * Falls back to a native sort of the remaining range after too many rounds,
 * so adversarial inputs cannot make it quadratic.
 */
export function kthLargest(row: Float32Array, k: number, scratch: Float32Array): number {
  const n = row.length;
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new RemaxError('E_INPUT', 'k out of range for kthLargest', {
      field: 'k',
      value: k,
      expected: `an integer in [1, ${n}]`,
    });
  }
  const a = scratch.subarray(0, n);
  a.set(row);
  // Select the element of ascending rank n - k.
  const target = n - k;
  let lo = 0;
  let hi = n - 1;
  for (let rounds = 0; lo < hi; rounds++) {
    if (rounds > 64) {
      a.subarray(lo, hi + 1).sort();
      return a[target] as number;
    }
    const pivot = medianOfThree(a[lo] as number, a[(lo + hi) >>> 1] as number, a[hi] as number);
    // Dutch-flag partition: [lo, lt) < pivot, [lt, gt] == pivot, (gt, hi] > pivot
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = a[i] as number;
      if (v < pivot) {
        a[i] = a[lt] as number;
        a[lt] = v;
        lt++;
        i++;
      } else if (v > pivot) {
        a[i] = a[gt] as number;
        a[gt] = v;
        gt--;
      } else {
        i++;
      }
    }
    if (target < lt) hi = lt - 1;
    else if (target > gt) lo = gt + 1;
    else return pivot;
  }
  return a[target] as number;
}

function medianOfThree(x: number, y: number, z: number): number {
  if (x < y) {
    if (y < z) return y;
    return Math.max(x, z);
  }
  if (x < z) return x;
  return Math.max(y, z);
}
