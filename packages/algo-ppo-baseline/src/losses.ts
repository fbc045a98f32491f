import { clippedSurrogate, tf } from '@remax/core';

/**
 * DeepSpeed-Chat `actor_loss_fn`, the PPO clipped surrogate (Schulman et al. 2017):
 * ratio = exp((logp - old_logp) * mask), loss = sum(max(-A*ratio,
 * -A*clip(ratio, 1-eps, 1+eps)) * mask) / sum(mask). All inputs [B, R] over the
 * response columns; only `logprobs` carries a gradient. `tokenCount` replaces
 * sum(mask) when a micro-batch is scaled to its share of the whole batch.
 * `tisWeights` [B, R] (truncated importance sampling, constants) multiply each token's term.
 */
export function actorLoss(
  logprobs: tf.Tensor2D,
  oldLogprobs: tf.Tensor2D,
  advantages: tf.Tensor2D,
  mask: tf.Tensor2D,
  cliprange: number,
  tokenCount?: number,
  tisWeights?: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    // DeepSpeed-Chat masks inside the exp: ratio = exp((logp - old_logp) * mask)
    const surrogate = clippedSurrogate(
      tf.mul(logprobs, mask),
      tf.mul(oldLogprobs, mask),
      advantages,
      cliprange,
      cliprange,
    );
    // truncated importance sampling: a constant weight per token (no gradient through it)
    const perToken = tisWeights ? tf.mul(surrogate, tisWeights) : surrogate;
    const denominator = tokenCount ?? tf.sum(mask);
    return tf.div(tf.sum(tf.mul(perToken, mask)), denominator) as tf.Scalar;
  });
}

/**
 * DeepSpeed-Chat `critic_loss_fn`, clipped value loss:
 * V_clip = clip(V, V_old - eps, V_old + eps),
 * loss = 0.5 * sum(max((V - R)^2, (V_clip - R)^2) * mask) / sum(mask)
 * (`tokenCount` replaces sum(mask) as in actorLoss).
 */
export function criticLoss(
  values: tf.Tensor2D,
  oldValues: tf.Tensor2D,
  returns: tf.Tensor2D,
  mask: tf.Tensor2D,
  cliprangeValue: number,
  tokenCount?: number,
): tf.Scalar {
  return tf.tidy(() => {
    const clipped = tf.minimum(
      tf.maximum(values, tf.sub(oldValues, cliprangeValue)),
      tf.add(oldValues, cliprangeValue),
    );
    const loss1 = tf.square(tf.sub(values, returns));
    const loss2 = tf.square(tf.sub(clipped, returns));
    const masked = tf.mul(tf.maximum(loss1, loss2), mask);
    return tf.mul(0.5, tf.div(tf.sum(masked), tokenCount ?? tf.sum(mask))) as tf.Scalar;
  });
}

/** Fraction of response tokens whose ratio left [1-eps, 1+eps] (a PPO health metric). */
export function clipFraction(
  logprobs: tf.Tensor2D,
  oldLogprobs: tf.Tensor2D,
  mask: tf.Tensor2D,
  cliprange: number,
): tf.Scalar {
  return tf.tidy(() => {
    const ratio = tf.exp(tf.mul(tf.sub(logprobs, oldLogprobs), mask));
    const out = tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), cliprange), 'float32');
    return tf.div(tf.sum(tf.mul(out, mask)), tf.sum(mask)) as tf.Scalar;
  });
}
