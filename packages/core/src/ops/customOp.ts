import { tf } from '../tf.js';

export interface CustomOpResult {
  value: tf.Tensor;
  /** Gradients w.r.t. each input, in order, given dy and the tensors passed to save(). */
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

/**
 * A typed wrapper of tf.customGrad: `body(inputs, save)` returns the value and
 * its gradient function. Ops inside the body are not recorded on the tape.
 */
export function customOp<I extends tf.Tensor[]>(
  body: (inputs: I, save: tf.GradSaveFunc) => CustomOpResult,
): (...inputs: I) => tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return body(args.slice(0, -1) as I, save);
  });
  return (...inputs: I) => op(...inputs);
}
