/**
 * Positions from the attention mask: pos[b, t] = max(cumsum(mask[b, :t+1]) - 1, 0),
 * for t in [from, L). mask is row-major [B, L]; result is [B, L - from] row-major.
 * Left padding therefore does not change a row's numbers.
 */
export function positionsFromMask(
  mask: Int32Array,
  B: number,
  L: number,
  from: number,
): Int32Array {
  const out = new Int32Array(B * (L - from));
  for (let b = 0; b < B; b++) {
    let sum = 0;
    for (let t = 0; t < L; t++) {
      sum += mask[b * L + t] as number;
      if (t >= from) out[b * (L - from) + (t - from)] = Math.max(sum - 1, 0);
    }
  }
  return out;
}

/** Large negative instead of -Infinity, so no row of the softmax can turn into NaN. */
export const MASKED = -1e9;

/**
 * Additive attention bias [B, Tq, Tk] (row-major) for queries at absolute
 * indices queryStart.. and keys at absolute indices keyStart.. (the KV cache
 * may have dropped older keys). Key j is visible to query i iff
 * mask[b, j] == 1 && j <= i && (no window || i - j < window). A pad query
 * (mask[b, i] == 0; its outputs are unspecified) attends to itself only.
 */
export function attentionBias(
  mask: Int32Array,
  B: number,
  L: number,
  queryStart: number,
  keyStart: number,
  window: number | null,
): Float32Array {
  const Tq = L - queryStart;
  const Tk = L - keyStart;
  const out = new Float32Array(B * Tq * Tk).fill(MASKED);
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < Tq; q++) {
      const i = queryStart + q;
      const lo = window === null ? keyStart : Math.max(keyStart, i - window + 1);
      const base = (b * Tq + q) * Tk;
      if (mask[b * L + i] !== 1) {
        // a pad query sees only itself: finite, and independent of the real tokens
        out[base + (i - keyStart)] = 0;
        continue;
      }
      for (let j = lo; j <= i; j++) {
        if (mask[b * L + j] === 1) out[base + (j - keyStart)] = 0;
      }
    }
  }
  return out;
}
