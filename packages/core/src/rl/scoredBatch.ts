// The input of every critic-free group loss (RLOO, REINFORCE++, GRPO): sampled
// rows with their reward-model scores, k samples per prompt. One loss function
// serves tests (the whole batch, on-policy) and the trainer (row micro-batches
// of an experience whose old and reference log-probabilities are already known).
import type { SequenceBatch } from '../algorithm.js';
import { disposeBatch, sliceRows } from '../batches.js';
import { RemaxError } from '../errors.js';
import { tf } from '../tf.js';
import type { Policy } from '../types.js';
import { responseMask } from './policyGradient.js';
import { checkSequenceBatch } from './scoring.js';

type Rows = readonly (readonly number[])[];

/** Rows `i * groupSize + j` hold sample j of prompt i (the order every GenerateFn returns). */
export interface ScoredBatch extends SequenceBatch {
  /** The reward model's score of each row, [N]. */
  scores: tf.Tensor1D | ArrayLike<number>;
  /** Samples per prompt (k). */
  groupSize: number;
  /**
   * Log-probabilities [N, T-1] of the policy that sampled the rows (the
   * update's "old" policy). Default: the current ones, detached (on-policy,
   * ratio 1 in value with the gradient through it).
   */
  oldLogprobs?: tf.Tensor2D | Rows;
  /** Reference log-probabilities [N, T-1] when already scored; default: the reference scores the batch. */
  refLogprobs?: tf.Tensor2D | Rows;
  /**
   * Only rows [start, end) run the policy with gradient and enter the loss,
   * weighted as their share of the whole batch's loss, so the losses and
   * gradients of a batch's micro-batches add up to the full batch's; batch-wide
   * numbers (baselines, whitening) still use every row. Needs `oldLogprobs`.
   * Default: every row.
   */
  rows?: readonly [number, number];
}

/** A ScoredBatch checked and read: plain arrays over every row, the policy's tensor over the loss rows. */
export interface ScoredRows {
  /** Rows and sequence length of the whole batch. */
  B: number;
  T: number;
  /** First response log-probability column: promptLength - 1. */
  start: number;
  groupSize: number;
  scores: Float32Array;
  /** Response mask [B, T-1]: attention_mask[:, 1:] with the prompt's columns zeroed. */
  mask: number[][];
  /** Old and reference log-probabilities [B, T-1], 0 off the response mask (pads hold no number). */
  oldLogprobs: number[][];
  refLogprobs: number[][];
  /** The loss rows [s, e). */
  rows: [number, number];
  /** Policy log-probabilities of the loss rows, [e - s, T-1], with gradient; 0 off the response mask. */
  logprobs: tf.Tensor2D;
  /** The response mask of the loss rows as float32 [e - s, T-1]. */
  rowMask: tf.Tensor2D;
}

/**
 * Checks a ScoredBatch and runs the policy on its loss rows (the reference
 * only when `refLogprobs` is not given, without gradient). Call it inside the
 * function being differentiated; the tensors it returns belong to the caller's scope.
 */
export function readScoredBatch(
  policy: Policy,
  reference: Policy,
  inputs: ScoredBatch,
  where: string,
): ScoredRows {
  const [B, T] = checkSequenceBatch(inputs, where);
  const start = inputs.promptLength - 1;
  const scores = rowValues(inputs.scores, B, `${where}: scores`);
  const { groupSize } = inputs;
  if (!Number.isInteger(groupSize) || groupSize < 1 || B % groupSize !== 0) {
    throw new RemaxError('E_SHAPE', `${where}: rows do not split into groups of groupSize`, {
      field: 'groupSize',
      value: { rows: B, groupSize },
      expected: 'a positive integer dividing the number of rows',
    });
  }
  const rows = checkRows(inputs.rows, B, where);
  const partial = rows[0] !== 0 || rows[1] !== B;
  if (partial && inputs.oldLogprobs === undefined) {
    throw new RemaxError('E_INPUT', `${where}: a row range needs the batch's oldLogprobs`, {
      field: 'oldLogprobs',
      value: undefined,
      expected: `[${B}, ${T - 1}] log-probabilities of every row (from the experience)`,
    });
  }
  const mask = responseMask(
    tf.tidy(() => tf.slice(inputs.attentionMask, [0, 1], [B, T - 1]).arraySync() as number[][]),
    start,
  );
  const part = partial ? sliceRows(inputs, rows[0], rows[1]) : inputs;
  try {
    const rowMask = tf.tensor2d(mask.slice(rows[0], rows[1]), [rows[1] - rows[0], T - 1]);
    const raw = policy.logprobsOf({ inputIds: part.inputIds, attentionMask: part.attentionMask });
    // where(), not a product with the mask: pad-query positions may hold NaN, and 0 * NaN = NaN
    const logprobs = tf.where(tf.cast(rowMask, 'bool'), raw, tf.zerosLike(raw)) as tf.Tensor2D;
    const oldLogprobs = onResponse(
      inputs.oldLogprobs === undefined
        ? (logprobs.arraySync() as number[][])
        : perPosition(inputs.oldLogprobs, B, T, `${where}: oldLogprobs`),
      mask,
    );
    const refLogprobs = onResponse(
      inputs.refLogprobs === undefined
        ? tf.tidy(() => reference.logprobsOf(inputs).arraySync() as number[][])
        : perPosition(inputs.refLogprobs, B, T, `${where}: refLogprobs`),
      mask,
    );
    return {
      B,
      T,
      start,
      groupSize,
      scores,
      mask,
      oldLogprobs,
      refLogprobs,
      rows,
      logprobs,
      rowMask,
    };
  } finally {
    if (partial) disposeBatch(part);
  }
}

function checkRows(rows: ScoredBatch['rows'], B: number, where: string): [number, number] {
  if (rows === undefined) return [0, B];
  const [s, e] = rows;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > B || s >= e) {
    throw new RemaxError('E_INPUT', `${where}: rows must be a non-empty range of the batch`, {
      field: 'rows',
      value: rows,
      expected: `[start, end) with 0 <= start < end <= ${B}`,
    });
  }
  return [s, e];
}

function rowValues(x: tf.Tensor1D | ArrayLike<number>, B: number, field: string): Float32Array {
  const values = x instanceof tf.Tensor ? (x.dataSync() as Float32Array) : Float32Array.from(x);
  if (values.length !== B || (x instanceof tf.Tensor && x.rank !== 1)) {
    throw new RemaxError('E_SHAPE', `${field} must hold one value per row`, {
      field,
      value: x instanceof tf.Tensor ? x.shape : values.length,
      expected: `[${B}]`,
    });
  }
  return values;
}

function perPosition(x: tf.Tensor2D | Rows, B: number, T: number, field: string): number[][] {
  const rows = x instanceof tf.Tensor ? (x.arraySync() as number[][]) : x.map((r) => [...r]);
  if (rows.length !== B || rows.some((r) => r.length !== T - 1)) {
    throw new RemaxError('E_SHAPE', `${field} must be [B, T-1]`, {
      field,
      value: [rows.length, rows[0]?.length],
      expected: `[${B}, ${T - 1}]`,
    });
  }
  return rows;
}

function onResponse(values: number[][], mask: Rows): number[][] {
  return values.map((row, b) => row.map((v, t) => (mask[b]?.[t] === 1 ? v : 0)));
}
