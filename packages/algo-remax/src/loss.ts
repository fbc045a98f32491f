// The ReMax loss (liziniu/ReMax actor loss):
//   loss = sum_{t >= start} -returns_t * logprob_t * action_mask_t / sum_{t >= start} action_mask_t
// Returns are constants; the gradient flows through the policy's log-probabilities only.
import { type Policy, RemaxError, type SequenceBatch, tf } from '@remax/core';
import type { KLEstimator } from './kl.js';
import { greedyBaseline, remaxReturns } from './returns.js';
import {
  checkSequenceBatch,
  type KLPenalty,
  type SequenceScores,
  scoreSequences,
} from './scoring.js';

export interface RemaxLossInputs extends SequenceBatch {
  /** Reward of each sampled response, float32 [B]. */
  reward: tf.Tensor1D | ArrayLike<number>;
  /** Reward of the greedy response to the same prompt, float32 [B]. */
  baselineReward: tf.Tensor1D | ArrayLike<number>;
}

export interface RemaxLossOptions {
  klPenalty: KLPenalty;
  /** Sampled estimator when klPenalty is 'sampled' (default k1, the log-ratio). */
  klEstimator?: KLEstimator;
  klCtl: number;
  rewardClip: number;
  gamma: number;
}

export interface RemaxLossStats extends SequenceScores {
  returns: number[][];
  /** clip(r - r_greedy, -c, c) per row. */
  advantages: number[];
  /** Fraction of rows whose r - r_greedy was clipped. */
  clipFraction: number;
  /** Response tokens in the loss (its denominator). */
  responseTokens: number;
}

/**
 * -sum(returns * logprobs) over the response tokens, divided by `normalizer`
 * (default: this batch's response-token count; the trainer passes the whole
 * batch's count so micro-batch gradients add up to the full-batch gradient).
 * `returns` is [B, T-1] and already zero outside each row's response.
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
  const weights = new Float32Array(B * (T - 1));
  const inLoss = new Int32Array(B * (T - 1));
  returns.forEach((row, b) => {
    row.forEach((r, t) => {
      weights[b * (T - 1) + t] = -r / normalizer;
      inLoss[b * (T - 1) + t] = r !== 0 ? 1 : 0;
    });
  });
  return tf.tidy(() => {
    const logprobs = policy.logprobsOf({
      inputIds: batch.inputIds,
      attentionMask: batch.attentionMask,
    }); // [B, T-1]
    // where(), not a product with the mask: pad-query positions may hold NaN, and 0 * NaN = NaN
    const used = tf.where(
      tf.cast(tf.tensor2d(inLoss, [B, T - 1]), 'bool'),
      logprobs,
      tf.zerosLike(logprobs),
    );
    return tf.sum(tf.mul(used, tf.tensor2d(weights, [B, T - 1]))) as tf.Scalar;
  });
}

/**
 * The ReMax loss of one batch of sampled responses with their rewards and
 * greedy-baseline rewards: scores with policy and reference, builds the
 * returns (constants) and the policy-gradient loss. `loss` is a scalar the
 * caller disposes; `tf.variableGrads(() => remaxLoss(...).loss, vars)` gives the gradients.
 */
export function remaxLoss(
  policy: Policy,
  reference: Policy,
  inputs: RemaxLossInputs,
  options: RemaxLossOptions,
): { loss: tf.Scalar; stats: RemaxLossStats } {
  const [B] = checkSequenceBatch(inputs, 'remaxLoss');
  const reward = rowValues(inputs.reward, B, 'reward');
  const baselineReward = rowValues(inputs.baselineReward, B, 'baselineReward');
  const scores = scoreSequences(policy, reference, inputs, {
    klPenalty: options.klPenalty,
    klEstimator: options.klEstimator ?? 'k1',
  });
  const start = inputs.promptLength - 1;
  const { advantages, clipped } = greedyBaseline(reward, baselineReward, options.rewardClip);
  const returns = remaxReturns(
    { kl: scores.kl, actionMask: scores.actionMask, advantages, start },
    { klCtl: options.klCtl, gamma: options.gamma },
  );
  const responseTokens = countResponseTokens(scores.actionMask, start);
  const loss = policyGradientLoss(policy, inputs, returns, Math.max(responseTokens, 1));
  const clipFraction = clipped.filter(Boolean).length / Math.max(B, 1);
  return { loss, stats: { ...scores, returns, advantages, clipFraction, responseTokens } };
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

function rowValues(x: tf.Tensor1D | ArrayLike<number>, B: number, field: string): Float32Array {
  const values = x instanceof tf.Tensor ? (x.dataSync() as Float32Array) : Float32Array.from(x);
  if (values.length !== B || (x instanceof tf.Tensor && x.rank !== 1)) {
    throw new RemaxError('E_SHAPE', `remaxLoss: ${field} must hold one value per row`, {
      field,
      value: x instanceof tf.Tensor ? x.shape : values.length,
      expected: `[${B}]`,
    });
  }
  return values;
}
