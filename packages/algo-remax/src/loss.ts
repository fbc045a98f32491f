// The ReMax loss (liziniu/ReMax actor loss):
//   loss = sum_{t >= start} -returns_t * logprob_t * action_mask_t / sum_{t >= start} action_mask_t
// Returns are constants; the gradient flows through the policy's log-probabilities only.
// The scoring, KL and policy-gradient pieces are @remax/core's (src/rl), shared with
// every REINFORCE-style algorithm.
import {
  checkSequenceBatch,
  countResponseTokens,
  type KLEstimator,
  type KLPenalty,
  type Policy,
  policyGradientLoss,
  RemaxError,
  type SequenceBatch,
  type SequenceScores,
  scoreSequences,
  tf,
} from '@remax/core';
import { remaxReturnsFromScores } from './returns.js';

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
  const { advantages, clipped, returns } = remaxReturnsFromScores(scores, reward, baselineReward, {
    start,
    klCtl: options.klCtl,
    gamma: options.gamma,
    rewardClip: options.rewardClip,
  });
  const responseTokens = countResponseTokens(scores.actionMask, start);
  const loss = policyGradientLoss(policy, inputs, returns, Math.max(responseTokens, 1));
  const clipFraction = clipped.filter(Boolean).length / Math.max(B, 1);
  return { loss, stats: { ...scores, returns, advantages, clipFraction, responseTokens } };
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
