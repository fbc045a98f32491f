// The policy-gradient pieces every REINFORCE-style loss is built from: which
// positions are response tokens, the masked REINFORCE loss, the clipped surrogate.
import type { SequenceBatch } from '../algorithm.js';
import { RemaxError } from '../errors.js';
import { tf } from '../tf.js';
import type { Policy } from '../types.js';
import { checkSequenceBatch } from './scoring.js';

/** The action mask with the prompt's columns (t < start) zeroed: 1 exactly on response tokens. */
export function responseMask(
  actionMask: readonly (readonly number[])[],
  start: number,
): number[][] {
  return actionMask.map((row) => row.map((m, t) => (t >= start ? m : 0)));
}

/** sum(action_mask[:, start:]) */
export function countResponseTokens(
  actionMask: readonly (readonly number[])[],
  start: number,
): number {
  let n = 0;
  for (const row of actionMask) for (let t = start; t < row.length; t++) n += row[t] as number;
  return n;
}

/** bool [B, T-1]: attention_mask[:, 1:] on columns t >= promptLength - 1. */
export function responseMaskTensor(batch: SequenceBatch): tf.Tensor2D {
  const [B, T] = checkSequenceBatch(batch, 'responseMaskTensor');
  return tf.tidy(() => {
    const action = tf.cast(tf.slice(batch.attentionMask, [0, 1], [B, T - 1]), 'bool');
    const columns = tf.greaterEqual(tf.range(0, T - 1, 1, 'int32'), batch.promptLength - 1);
    return tf.logicalAnd(action, columns) as tf.Tensor2D;
  });
}

/**
 * -sum(returns * logprobs) over the response tokens (the response mask, not
 * `returns != 0`), divided by `normalizer` (the caller passes the whole batch's
 * token count so micro-batch gradients add up to the full-batch gradient).
 * `returns` is [B, T-1]; the gradient flows through `policy.logprobsOf` only.
 */
export function policyGradientLoss(
  policy: Policy,
  batch: SequenceBatch,
  returns: readonly (readonly number[])[],
  normalizer: number,
): tf.Scalar {
  const [B, T] = checkSequenceBatch(batch, 'policyGradientLoss');
  if (!(normalizer > 0)) {
    throw new RemaxError('E_INPUT', 'policyGradientLoss: normalizer must be positive', {
      field: 'normalizer',
      value: normalizer,
      expected: 'the number of response tokens (> 0)',
    });
  }
  if (returns.length !== B || returns.some((row) => row.length !== T - 1)) {
    throw new RemaxError('E_SHAPE', 'policyGradientLoss: returns must be [B, T-1]', {
      field: 'returns',
      value: [returns.length, returns[0]?.length],
      expected: `[${B}, ${T - 1}]`,
    });
  }
  const weights = new Float32Array(B * (T - 1));
  returns.forEach((row, b) => {
    row.forEach((r, t) => {
      weights[b * (T - 1) + t] = -r / normalizer;
    });
  });
  return tf.tidy(() => {
    const logprobs = policy.logprobsOf(
      { inputIds: batch.inputIds, attentionMask: batch.attentionMask },
      { fromColumn: batch.promptLength - 1 }, // the prompt's columns are masked anyway
    ); // [B, T-1]
    // where(), not a product with the mask: pad-query positions may hold NaN, and 0 * NaN = NaN
    const used = tf.where(responseMaskTensor(batch), logprobs, tf.zerosLike(logprobs));
    return tf.sum(tf.mul(used, tf.tensor2d(weights, [B, T - 1]))) as tf.Scalar;
  });
}

/**
 * Per-token PPO-clip loss (Schulman et al. 2017) with separate bounds (DAPO's
 * clip-higher): -min(r A, clip(r, 1 - epsilonLow, 1 + epsilonHigh) A),
 * r = exp(logprobs - oldLogprobs). No masking or aggregation: callers choose them.
 */
export function clippedSurrogate(
  logprobs: tf.Tensor,
  oldLogprobs: tf.Tensor,
  advantages: tf.Tensor,
  epsilonLow: number,
  epsilonHigh: number,
): tf.Tensor {
  return tf.tidy(() => {
    const ratio = tf.exp(tf.sub(logprobs, oldLogprobs));
    const unclipped = tf.mul(ratio, advantages);
    const clipped = tf.mul(tf.clipByValue(ratio, 1 - epsilonLow, 1 + epsilonHigh), advantages);
    return tf.neg(tf.minimum(unclipped, clipped));
  });
}
