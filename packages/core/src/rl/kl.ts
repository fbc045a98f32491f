// Per-token KL penalties. `sampled` estimators use only the log-probabilities
// of the sampled token (Schulman, "Approximating KL divergence", 2020):
//   k1 = log p - log q                 (unbiased, can be negative; liziniu/ReMax 'sampled')
//   k2 = (log p - log q)^2 / 2         (biased, low variance, >= 0)
//   k3 = (q/p - 1) - log(q/p)          (unbiased, >= 0)
// `full_step` is the full-vocabulary KL(p || q) at each position, computed on
// logits by `fullKL` (ops/) and passed in as a [B, T-1] array.
import { tf } from '../tf.js';

/** Which sampled-token estimator of KL(p || q) to use. */
export type KLEstimator = 'k1' | 'k2' | 'k3';

/** One token's KL estimate from the policy and reference log-probabilities of the sampled token. */
export function klEstimate(logprob: number, refLogprob: number, estimator: KLEstimator): number {
  const logRatio = logprob - refLogprob; // log p/q
  switch (estimator) {
    case 'k1':
      return logRatio;
    case 'k2':
      return 0.5 * logRatio * logRatio;
    case 'k3':
      // with r = q/p: (r - 1) - log r
      return Math.expm1(-logRatio) + logRatio;
  }
}

/** Element-wise `klEstimate` over [B, T-1] arrays. */
export function sampledKL(
  logprobs: readonly (readonly number[])[],
  refLogprobs: readonly (readonly number[])[],
  estimator: KLEstimator,
): number[][] {
  return logprobs.map((row, b) => {
    const refRow = refLogprobs[b] ?? [];
    return row.map((lp, t) => klEstimate(lp, refRow[t] ?? Number.NaN, estimator));
  });
}

/**
 * `klEstimate` on tensors, element-wise and differentiable w.r.t. both inputs
 * (a KL term inside the loss, e.g. GRPO's beta * k3).
 */
export function klEstimateTensor(
  logprobs: tf.Tensor,
  refLogprobs: tf.Tensor,
  estimator: KLEstimator,
): tf.Tensor {
  return tf.tidy(() => {
    const logRatio = tf.sub(logprobs, refLogprobs); // log p/q
    switch (estimator) {
      case 'k1':
        return logRatio;
      case 'k2':
        return tf.mul(0.5, tf.square(logRatio));
      case 'k3':
        // exp(q - p) - (q - p) - 1 in log space, as TRL writes it
        return tf.sub(tf.add(tf.exp(tf.neg(logRatio)), logRatio), 1);
    }
  });
}
