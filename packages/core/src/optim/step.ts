// One guarded optimizer update: non-finite check, global-norm clipping, AdamW.
import type { tf } from '../tf.js';
import type { AdamW } from './adamw.js';
import { clipCoefficient, globalGradNorm } from './clip.js';

export interface OptimizerStepOptions {
  /** Learning rate of this step (e.g. base lr * schedule multiplier); default the optimizer's. */
  lr?: number;
  /** clip_grad_norm_'s max_norm; null or absent = no clipping (the norm is still reported). */
  maxGradNorm?: number | null;
  /** The step's loss; NaN/Inf skips the update. */
  loss?: number;
  /** False when a micro-batch loss was non-finite (AccumulatedGrads.lossFinite). */
  lossFinite?: boolean;
}

export interface OptimizerStepResult {
  /** True when the weights and the optimizer state were left untouched. */
  skipped: boolean;
  reason: 'non-finite loss' | 'non-finite gradient' | null;
  /** Global 2-norm before clipping (NaN/Inf when a gradient was). */
  gradNorm: number;
  /** Factor the gradients were scaled by (1 without clipping, 0 when skipped). */
  clipCoef: number;
  lr: number;
  /** Applied updates so far. */
  step: number;
  /** Skipped updates so far. */
  skippedSteps: number;
}

/**
 * Checks, clips and applies `grads` (keyed like the optimizer's params). A
 * non-finite loss or gradient skips the update: weights and moments stay as
 * they were, only the skip counter moves. The caller keeps ownership of `grads`.
 * Note: a finite gradient so large that its squares overflow float32 (> ~1e19)
 * also reads as non-finite and is skipped.
 */
export function optimizerStep(
  optimizer: AdamW,
  grads: ReadonlyMap<string, tf.Tensor>,
  options: OptimizerStepOptions = {},
): OptimizerStepResult {
  const lr = options.lr ?? optimizer.config.lr;
  const gradNorm = globalGradNorm(grads);
  const lossOk =
    options.lossFinite !== false && (options.loss === undefined || Number.isFinite(options.loss));
  const reason = !lossOk
    ? 'non-finite loss'
    : !Number.isFinite(gradNorm)
      ? 'non-finite gradient'
      : null;
  if (reason !== null) {
    optimizer.recordSkip();
    return {
      skipped: true,
      reason,
      gradNorm,
      clipCoef: 0,
      lr,
      step: optimizer.step,
      skippedSteps: optimizer.skippedSteps,
    };
  }
  const maxNorm = options.maxGradNorm ?? null;
  const clipCoef = maxNorm === null ? 1 : clipCoefficient(gradNorm, maxNorm);
  // the clip coefficient is fused into the update (same float32 product as a scaled copy)
  optimizer.apply(grads, lr, clipCoef);
  return {
    skipped: false,
    reason: null,
    gradNorm,
    clipCoef,
    lr,
    step: optimizer.step,
    skippedSteps: optimizer.skippedSteps,
  };
}
