// grpoLoss: the one path from a scored batch to the GRPO loss (tests and the
// trainer's micro-batches alike): advantages from the scores, reference
// log-probabilities, the policy's log-probabilities with gradient, the token
// objective aggregated over the whole batch.
import {
  checkSequenceBatch,
  type Policy,
  RemaxError,
  responseMask,
  type ScoredBatch,
  sliceRows,
  tf,
} from '@remax/core';
import { type GroupAdvantages, grpoAdvantages } from './advantages.js';
import type { LossType, ScaleRewards } from './config.js';
import { aggregationWeights, grpoObjective } from './objective.js';

type Rows = readonly (readonly number[])[];

/**
 * A scored batch (@remax/core's ScoredBatch: rows i*groupSize + j = sample j of
 * prompt i; `oldLogprobs` absent = the policy's own, detached; `refLogprobs`
 * absent = `reference` scores the rows), its row range in the options.
 */
export type GrpoLossInputs = Omit<ScoredBatch, 'rows'>;

export interface GrpoLossOptions {
  scaleRewards: ScaleRewards;
  lossType: LossType;
  beta: number;
  epsilonLow: number;
  epsilonHigh: number;
  /** The 'dr_grpo' normaliser's constant (the generator's token limit); unused otherwise. */
  maxCompletionLength?: number;
  /**
   * Rows [start, end) whose loss to build (a micro-batch): advantages and the
   * normaliser come from the whole batch, so the losses (and gradients) of a
   * partition of the rows add up to the full-batch ones. Default: every row.
   */
  rows?: readonly [number, number];
}

export interface GrpoLossStats extends GroupAdvantages {
  /** Response tokens of the whole batch. */
  responseTokens: number;
  /** Clipped response tokens of these rows (see ObjectiveResult); 0 when oldLogprobs is absent. */
  lowClipped: number;
  highClipped: number;
}

/**
 * The GRPO loss of a scored batch. `loss` is a scalar the caller disposes;
 * `tf.variableGrads(() => grpoLoss(...).loss, vars)` gives the policy's gradients.
 */
export function grpoLoss(
  policy: Policy,
  reference: Policy,
  inputs: GrpoLossInputs,
  options: GrpoLossOptions,
): { loss: tf.Scalar; stats: GrpoLossStats } {
  const [N, T] = checkSequenceBatch(inputs, 'grpoLoss');
  const advantages = grpoAdvantages(
    rowValues(inputs.scores, N),
    inputs.groupSize,
    options.scaleRewards,
  );
  const [s, e] = rowRange(options.rows, N);
  const mask = responseMask(
    tf.tidy(() => tf.slice(inputs.attentionMask, [0, 1], [N, T - 1]).arraySync() as number[][]),
    inputs.promptLength - 1,
  );
  const weights = aggregationWeights(mask, options.lossType, options.maxCompletionLength);
  if (options.beta > 0 && inputs.refLogprobs)
    checkShape(inputs.refLogprobs, N, T - 1, 'refLogprobs');
  if (inputs.oldLogprobs) checkShape(inputs.oldLogprobs, N, T - 1, 'oldLogprobs');
  let lowClipped = 0;
  let highClipped = 0;
  const loss = tf.tidy(() => {
    const part = s === 0 && e === N ? inputs : sliceRows(inputs, s, e);
    const tokens = { inputIds: part.inputIds, attentionMask: part.attentionMask };
    const ref =
      options.beta === 0
        ? undefined
        : inputs.refLogprobs
          ? rowsOf(inputs.refLogprobs, s, e)
          : reference.logprobsOf(tokens);
    const old = inputs.oldLogprobs && rowsOf(inputs.oldLogprobs, s, e);
    const result = grpoObjective(
      policy.logprobsOf(tokens),
      {
        mask: mask.slice(s, e),
        weights: weights.slice(s, e),
        advantages: advantages.advantages.slice(s, e),
        ...(old && { oldLogprobs: old }),
        ...(ref && { refLogprobs: ref }),
      },
      options,
    );
    lowClipped = result.lowClipped;
    highClipped = result.highClipped;
    return result.loss;
  });
  const responseTokens = mask.reduce((n, row) => n + row.reduce((a, b) => a + b, 0), 0);
  return { loss, stats: { ...advantages, responseTokens, lowClipped, highClipped } };
}

function rowValues(x: tf.Tensor1D | ArrayLike<number>, N: number): Float64Array {
  const values =
    x instanceof tf.Tensor ? Float64Array.from(x.dataSync() as Float32Array) : Float64Array.from(x);
  if (values.length !== N || (x instanceof tf.Tensor && x.rank !== 1)) {
    throw new RemaxError('E_SHAPE', 'grpoLoss: scores must hold one value per row', {
      field: 'scores',
      value: x instanceof tf.Tensor ? x.shape : values.length,
      expected: `[${N}]`,
    });
  }
  return values;
}

function rowRange(rows: readonly [number, number] | undefined, N: number): [number, number] {
  if (!rows) return [0, N];
  const [s, e] = rows;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > N || s >= e) {
    throw new RemaxError('E_INPUT', 'grpoLoss: rows must be a non-empty range of the batch', {
      field: 'rows',
      value: rows,
      expected: `[start, end) with 0 <= start < end <= ${N}`,
    });
  }
  return [s, e];
}

function checkShape(x: tf.Tensor2D | Rows, N: number, W: number, field: string): void {
  const shape = x instanceof tf.Tensor ? x.shape : [x.length, x[0]?.length];
  const ok =
    x instanceof tf.Tensor
      ? x.rank === 2 && x.shape[0] === N && x.shape[1] === W
      : x.length === N && x.every((r) => r.length === W);
  if (!ok) {
    throw new RemaxError('E_SHAPE', `grpoLoss: ${field} must be [N, T-1]`, {
      field,
      value: shape,
      expected: `[${N}, ${W}]`,
    });
  }
}

/** Rows [s, e) of per-position values as a [e - s, W] tensor. */
function rowsOf(x: tf.Tensor2D | Rows, s: number, e: number): tf.Tensor2D {
  if (x instanceof tf.Tensor) return tf.slice(x, [s, 0], [e - s, x.shape[1]]);
  const rows = x.slice(s, e).map((r) => [...r]);
  return tf.tensor2d(rows, [e - s, rows[0]?.length ?? 0]);
}
