// The NaN / Inf policy of the algorithms: a row whose reward (or value) is not
// finite is masked (it adds nothing to the loss), and the step goes on with
// the finite rows; metrics are means over the kept rows.

/** True for each row with a non-finite entry in any of the per-row arrays. */
export function nonFiniteRows(rows: number, ...perRow: readonly ArrayLike<number>[]): boolean[] {
  const masked = new Array<boolean>(rows).fill(false);
  for (const xs of perRow) {
    for (let b = 0; b < rows; b++) if (!Number.isFinite(xs[b] as number)) masked[b] = true;
  }
  return masked;
}

/** The entries whose row is kept (not masked). */
export function keptRows(xs: ArrayLike<number>, masked: readonly boolean[]): number[] {
  const out: number[] = [];
  for (let b = 0; b < xs.length; b++) if (!masked[b]) out.push(xs[b] as number);
  return out;
}

/** `xs` with the masked rows' entries replaced by `fill` (a neutral value for the math). */
export function fillMasked(
  xs: ArrayLike<number>,
  masked: readonly boolean[],
  fill: number,
): number[] {
  return Array.from(xs, (x, b) => (masked[b] ? fill : x));
}
