// Global gradient-norm clipping as torch.nn.utils.clip_grad_norm_ (norm_type 2):
//   total = || [ ||g_1||_2, ..., ||g_n||_2 ] ||_2
//   coef  = min(max_norm / (total + 1e-6), 1)      every gradient is multiplied by coef
import { RemaxError } from '../errors.js';
import { tf } from '../tf.js';

/** sqrt of the sum of squares of every gradient (one device read). NaN/Inf when any entry is. */
export function globalGradNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  if (grads.size === 0) return 0;
  const sumSq = tf.tidy(
    () => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0],
  );
  return Math.sqrt(sumSq as number);
}

/** The factor clip_grad_norm_ multiplies every gradient by. */
export function clipCoefficient(totalNorm: number, maxNorm: number): number {
  return Math.min(maxNorm / (totalNorm + 1e-6), 1);
}

export interface ClippedGrads {
  /** New tensors (the caller disposes them); the inputs are untouched. */
  grads: Map<string, tf.Tensor>;
  /** Norm before clipping, as clip_grad_norm_ returns it. */
  totalNorm: number;
  /** Factor applied (1 when the norm was already within bounds). */
  clipCoef: number;
}

/** clip_grad_norm_ without mutation: returns scaled copies and the pre-clip norm. */
export function clipGradNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): ClippedGrads {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new RemaxError('E_INPUT', 'max gradient norm must be a finite number > 0', {
      field: 'maxNorm',
      value: maxNorm,
    });
  }
  const totalNorm = globalGradNorm(grads);
  const clipCoef = clipCoefficient(totalNorm, maxNorm);
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) out.set(name, tf.mul(g, clipCoef));
  return { grads: out, totalNorm, clipCoef };
}
