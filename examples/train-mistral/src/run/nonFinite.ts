// The trainer's side of the NaN / Inf policy. Algorithms mask non-finite
// reward rows and skip updates whose loss or gradient is not finite (metric
// `optim/skipped`); the trainer stops a run that keeps skipping.
import { RemaxError, type StepMetrics } from '@remax/core';

/** A metric as JSON can hold it: non-finite values become null (a gap in charts). */
export function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Every metric of a step with non-finite values as null. */
export function finiteMetrics(metrics: StepMetrics): Record<string, number | null> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, finiteOrNull(v)]));
}

/**
 * Updates skipped in a row after this step: reset by an applied update. At
 * `limit`, E_DIVERGED naming the step and the checkpoint to go back to.
 */
export function countSkips(
  previous: number,
  metrics: StepMetrics,
  limit: number,
  where: { step: number; lastCheckpoint: string | null },
): number {
  const skipped = metrics['optim/skipped'] === 1;
  const run = skipped ? previous + 1 : 0;
  if (run >= limit) {
    throw new RemaxError(
      'E_DIVERGED',
      `${run} updates in a row skipped (non-finite loss or gradient)`,
      {
        field: `step ${where.step}`,
        value: run,
        expected: `fewer than train.max_consecutive_skips (${limit}); the last good checkpoint is ${
          where.lastCheckpoint ?? 'none (no checkpoint was written)'
        }: lower optim.lr, check the reward model, then train --resume`,
      },
    );
  }
  return run;
}
