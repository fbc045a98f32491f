// Truncated importance sampling (TIS; Yao et al. 2025, as in verl and TRL):
// when rollouts come from another engine (vLLM, another numeric path), the
// sampling distribution differs slightly from the trainer's. Each response
// token's loss term is weighted by min(exp(lp_train - lp_engine), C): the
// trainer's probability of the token over the engine's, capped. The weight is
// a constant (computed from numbers, no gradient through it).
import { z } from 'zod';
import type { RolloutSequences } from '../algorithm.js';
import { RemaxError } from '../errors.js';

type Rows = readonly (readonly number[])[];

/**
 * Weights [B, T-1] aligned with `trainLogprobs` ([B, T-1], position t predicts
 * token t + 1): min(exp(train[b][t] - rollout[b][t - start]), cap) on the
 * response tokens t in [start, start + len_b), 1 elsewhere. `rolloutLogprobs`
 * is [B, R] with column j = response token j.
 */
export function truncatedISWeights(
  trainLogprobs: Rows,
  rolloutLogprobs: Rows,
  responseLengths: readonly number[],
  start: number,
  cap: number,
): number[][] {
  if (!(cap > 0) || !Number.isFinite(cap)) {
    throw new RemaxError('E_CONFIG', 'tis_cap must be a finite number > 0', {
      field: 'tisCap',
      value: cap,
      expected: 'e.g. 2 (verl, TRL)',
    });
  }
  if (rolloutLogprobs.length !== trainLogprobs.length) {
    throw new RemaxError('E_SHAPE', 'rollout logprobs need one row per sequence', {
      field: 'rolloutLogprobs',
      value: rolloutLogprobs.length,
      expected: `${trainLogprobs.length} rows`,
    });
  }
  return trainLogprobs.map((row, b) => {
    const len = responseLengths[b] ?? 0;
    return row.map((lp, t) => {
      const j = t - start;
      if (j < 0 || j >= len) return 1;
      const engine = rolloutLogprobs[b]?.[j];
      if (engine === undefined) {
        throw new RemaxError('E_SHAPE', 'rollout logprobs shorter than the response', {
          field: `rolloutLogprobs[${b}]`,
          value: rolloutLogprobs[b]?.length,
          expected: `>= ${len} columns`,
        });
      }
      return Math.min(Math.exp(lp - engine), cap);
    });
  });
}

/** truncatedISWeights with the generator's logprobs of `sampled` (an E_STATE error without them). */
export function rolloutTISWeights(
  trainLogprobs: Rows,
  sampled: RolloutSequences,
  start: number,
  cap: number,
): number[][] {
  if (!sampled.logprobs) {
    throw new RemaxError('E_STATE', "tisCap needs the generator's log-probabilities", {
      field: 'rollout.sampled.logprobs',
      expected: 'a GenerateFn that returns logprobs (returnLogprobs: true, or a remote engine)',
    });
  }
  const engine = sampled.logprobs.arraySync() as number[][];
  return truncatedISWeights(trainLogprobs, engine, sampled.responseLengths, start, cap);
}

/** The `tisCap` config field every algorithm with TIS spreads into its zod schema. */
export const tisCapField = {
  tisCap: z
    .number()
    .positive()
    .nullable()
    .default(null)
    .describe(
      'truncated importance sampling: weight each token by min(exp(lp_train - lp_engine), tisCap) (no gradient through it); null = off [null]',
    ),
};
