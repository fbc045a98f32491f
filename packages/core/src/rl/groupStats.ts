// Statistics over groups of samples of the same prompt: rows i * groupSize + j
// hold sample j of prompt i (the order every GenerateFn returns).
import { RemaxError } from '../errors.js';

function checkGroups(n: number, groupSize: number): number {
  if (!Number.isInteger(groupSize) || groupSize < 1 || n % groupSize !== 0) {
    throw new RemaxError('E_SHAPE', 'rows do not split into whole groups', {
      field: 'groupSize',
      value: { rows: n, groupSize },
      expected: 'a positive integer dividing the number of rows',
    });
  }
  return n / groupSize;
}

/** Mean of each group, one value per prompt. */
export function groupMeans(values: ArrayLike<number>, groupSize: number): number[] {
  const groups = checkGroups(values.length, groupSize);
  const out: number[] = [];
  for (let g = 0; g < groups; g++) {
    let s = 0;
    for (let j = 0; j < groupSize; j++) s += values[g * groupSize + j] as number;
    out.push(s / groupSize);
  }
  return out;
}

/** Sample standard deviation with Bessel's correction (n - 1), torch.std's default. */
export function unbiasedStd(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  let m = 0;
  for (let i = 0; i < n; i++) m += xs[i] as number;
  m /= n;
  let s = 0;
  for (let i = 0; i < n; i++) s += ((xs[i] as number) - m) ** 2;
  return Math.sqrt(s / (n - 1));
}
