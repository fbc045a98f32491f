// TEMPORARY: the signatures of @remax/core src/rl (CORE_RL_API.md) until it lands on main;
// replaced by imports from @remax/core after the rebase.
import { RemaxError, type SequenceBatch, tf } from '@remax/core';

export function checkSequenceBatch(batch: SequenceBatch, where: string): [number, number] {
  const { inputIds, attentionMask, promptLength } = batch;
  if (inputIds.rank !== 2 || inputIds.dtype !== 'int32') {
    throw new RemaxError('E_INPUT', `${where}: inputIds must be an int32 [B, T] tensor`, {
      field: 'inputIds',
    });
  }
  const [B, T] = inputIds.shape as [number, number];
  if (attentionMask.shape[0] !== B || attentionMask.shape[1] !== T) {
    throw new RemaxError('E_SHAPE', `${where}: attentionMask must match inputIds`, {
      field: 'attentionMask',
    });
  }
  if (!Number.isInteger(promptLength) || promptLength < 1 || promptLength >= T) {
    throw new RemaxError('E_INPUT', `${where}: promptLength must leave room for a response`, {
      field: 'promptLength',
      value: promptLength,
    });
  }
  return [B, T];
}

export function responseMask(actionMask: number[][], start: number): number[][] {
  return actionMask.map((row) => row.map((m, t) => (t < start ? 0 : m)));
}

export function groupMeans(values: ArrayLike<number>, groupSize: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < values.length; s += groupSize) {
    let sum = 0;
    for (let i = s; i < s + groupSize; i++) sum += values[i] as number;
    out.push(sum / groupSize);
  }
  return out;
}

export function unbiasedStd(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i] as number;
  m /= xs.length;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += ((xs[i] as number) - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

export function klEstimateTensor(
  logprobs: tf.Tensor,
  refLogprobs: tf.Tensor,
  _estimator: 'k3',
): tf.Tensor {
  return tf.tidy(() => {
    const d = tf.sub(refLogprobs, logprobs);
    return tf.sub(tf.sub(tf.exp(d), d), 1);
  });
}

export function clippedSurrogate(
  logprobs: tf.Tensor,
  oldLogprobs: tf.Tensor,
  advantages: tf.Tensor,
  epsilonLow: number,
  epsilonHigh: number,
): tf.Tensor {
  return tf.tidy(() => {
    const ratio = tf.exp(tf.sub(logprobs, oldLogprobs));
    const clipped = tf.clipByValue(ratio, 1 - epsilonLow, 1 + epsilonHigh);
    return tf.neg(tf.minimum(tf.mul(ratio, advantages), tf.mul(clipped, advantages)));
  });
}
