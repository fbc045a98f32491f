// GRPO's token objective on response-token log-probabilities (TRL grpo_trainer.py
// _compute_loss, importance_sampling_level 'token'):
//   per_token = -min(ratio A, clip(ratio, 1 - eps_low, 1 + eps_high) A) + beta k3
//   ratio = exp(lp - old_lp),  k3 = exp(ref - lp) - (ref - lp) - 1  (gradient through lp)
// aggregated by `aggregationWeights` (loss_type grpo / dapo / dr_grpo).
import { clippedSurrogate, klEstimateTensor, RemaxError, tf } from '@remax/core';
import type { LossType } from './config.js';

type Rows = readonly (readonly number[])[];

/**
 * Weights w with loss = sum(per_token * w), for the WHOLE batch's response mask
 * [N, L] (1 on response tokens): 'grpo' 1 / (N * tokens of the row), 'dapo'
 * 1 / (tokens in the batch), 'dr_grpo' 1 / (N * maxCompletionLength). Any row
 * range of w is that micro-batch's exact share of the full-batch loss.
 */
export function aggregationWeights(
  mask: Rows,
  lossType: LossType,
  maxCompletionLength?: number,
): number[][] {
  const N = mask.length;
  const perRow = mask.map((row) => row.reduce((a, b) => a + b, 0));
  let scale: (row: number) => number;
  switch (lossType) {
    case 'grpo':
      // TRL: (sum / count.clamp(min=1)).mean()
      scale = (row) => 1 / (N * Math.max(perRow[row] as number, 1));
      break;
    case 'dapo': {
      // TRL: sum / num_items_in_batch.clamp(min=1) (one process)
      const total = perRow.reduce((a, b) => a + b, 0);
      scale = () => 1 / Math.max(total, 1);
      break;
    }
    case 'dr_grpo': {
      const longest = Math.max(0, ...perRow);
      if (
        maxCompletionLength === undefined ||
        !Number.isInteger(maxCompletionLength) ||
        maxCompletionLength < longest
      ) {
        throw new RemaxError('E_INPUT', "the 'dr_grpo' loss needs maxCompletionLength", {
          field: 'maxCompletionLength',
          value: maxCompletionLength,
          expected: `an integer >= the longest response (${longest} tokens): the generator's limit`,
        });
      }
      scale = () => 1 / (N * maxCompletionLength);
      break;
    }
  }
  return mask.map((row, b) => row.map((m) => (m === 0 ? 0 : m * scale(b))));
}

export interface TokenTerms {
  /** [B, L] response mask of these rows (1 on response tokens). */
  mask: Rows;
  /** [B, L] aggregation weights of these rows (from `aggregationWeights` on the whole batch). */
  weights: Rows;
  /** One advantage per row. */
  advantages: readonly number[];
  /** Behaviour log-probabilities [B, L]; absent = `logprobs` detached (ratio 1 in value). */
  oldLogprobs?: tf.Tensor2D;
  /** Reference log-probabilities [B, L]; needed when beta > 0. */
  refLogprobs?: tf.Tensor2D;
}

export interface ObjectiveOptions {
  beta: number;
  epsilonLow: number;
  epsilonHigh: number;
}

export interface ObjectiveResult {
  loss: tf.Scalar;
  /** Response tokens whose ratio fell below 1 - epsLow with A < 0 (clipped, no gradient). */
  lowClipped: number;
  /** Response tokens whose ratio rose above 1 + epsHigh with A > 0. */
  highClipped: number;
}

/**
 * The aggregated GRPO loss of `logprobs` [B, L] (with gradient). Off-mask
 * entries of every input may hold anything (NaN included): they are replaced
 * before any arithmetic, so they reach neither the loss nor the gradient.
 */
export function grpoObjective(
  logprobs: tf.Tensor2D,
  terms: TokenTerms,
  options: ObjectiveOptions,
): ObjectiveResult {
  const [B, L] = logprobs.shape;
  const rowsOk = (x: Rows | readonly number[], width?: number) =>
    x.length === B && (width === undefined || (x as Rows).every((r) => r.length === width));
  const tensorOk = (x?: tf.Tensor) => !x || (x.shape[0] === B && x.shape[1] === L);
  if (
    !rowsOk(terms.mask, L) ||
    !rowsOk(terms.weights, L) ||
    !rowsOk(terms.advantages) ||
    !tensorOk(terms.oldLogprobs) ||
    !tensorOk(terms.refLogprobs)
  ) {
    throw new RemaxError('E_SHAPE', 'grpoObjective: every term must match the log-probabilities', {
      field: 'terms',
      value: {
        mask: [terms.mask.length, terms.mask[0]?.length],
        weights: [terms.weights.length, terms.weights[0]?.length],
        advantages: terms.advantages.length,
        oldLogprobs: terms.oldLogprobs?.shape,
        refLogprobs: terms.refLogprobs?.shape,
      },
      expected: `mask, weights, old and ref log-probabilities [${B}, ${L}], ${B} advantages`,
    });
  }
  if (options.beta > 0 && !terms.refLogprobs) {
    throw new RemaxError(
      'E_INPUT',
      'grpoObjective: beta > 0 needs the reference log-probabilities',
      {
        field: 'refLogprobs',
        expected: `a [${B}, ${L}] tensor`,
      },
    );
  }
  let lowClipped = 0;
  let highClipped = 0;
  const loss = tf.tidy(() => {
    const on = tf.cast(
      tf.tensor2d(
        terms.mask.map((r) => [...r]),
        [B, L],
      ),
      'bool',
    );
    const zeros = tf.zeros([B, L]);
    const clean = (x: tf.Tensor) => tf.where(on, x, zeros);
    const lp = clean(logprobs);
    // TRL: old_per_token_logps = per_token_logps.detach(); a copy of the values is off the tape
    const old = terms.oldLogprobs
      ? clean(terms.oldLogprobs)
      : tf.tensor2d(lp.dataSync() as Float32Array, [B, L]);
    const adv = tf.tensor2d([...terms.advantages], [B, 1]);
    let perToken = clippedSurrogate(lp, old, adv, options.epsilonLow, options.epsilonHigh);
    if (options.beta > 0) {
      const kl = klEstimateTensor(lp, clean(terms.refLogprobs as tf.Tensor2D), 'k3');
      perToken = tf.add(perToken, tf.mul(kl, options.beta));
    }
    if (terms.oldLogprobs) {
      const ratio = tf.exp(tf.sub(lp, old));
      const count = (c: tf.Tensor) =>
        tf.sum(tf.cast(tf.logicalAnd(on, c), 'float32')).dataSync()[0] as number;
      lowClipped = count(tf.logicalAnd(tf.less(ratio, 1 - options.epsilonLow), tf.less(adv, 0)));
      highClipped = count(
        tf.logicalAnd(tf.greater(ratio, 1 + options.epsilonHigh), tf.greater(adv, 0)),
      );
    }
    const w = tf.tensor2d(
      terms.weights.map((r) => [...r]),
      [B, L],
    );
    return tf.sum(tf.mul(perToken, w)) as tf.Scalar;
  });
  return { loss, lowClipped, highClipped };
}
