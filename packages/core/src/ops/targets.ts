import { RemaxError } from '../errors.js';

/** Marks a position without a target token in `logprobsFromHidden`. */
export const NO_TARGET = -1;

/**
 * The first scored column of a [B, T] batch (`fromColumn`, default 0), checked
 * to be an integer in [0, T - 1]; `where` names the caller in the error.
 */
export function firstScoredColumn(
  fromColumn: number | undefined,
  T: number,
  where: string,
): number {
  const from = fromColumn ?? 0;
  if (!Number.isInteger(from) || from < 0 || from > T - 1) {
    throw new RemaxError('E_INPUT', `${where}: fromColumn out of range`, {
      field: 'fromColumn',
      value: from,
      expected: `an integer in [0, ${T - 1}]`,
    });
  }
  return from;
}
