// Gradients tfjs 4.22 lacks or gets wrong, on every backend:
// - comparisons and logical ops have no gradient, so a mask computed from a
//   differentiated tensor (a clip fraction inside a loss) aborts backprop;
//   they get zero gradients, as in PyTorch (bool outputs carry none);
// - Maximum / Minimum return a gradient of the broadcast shape, not the
//   input's shape ("gradient of input 'b' has shape ..."): reduced here;
// - Tile's gradient stops at rank 4 (GQA key/value repeats are rank 5):
//   replaced by one reshape + sum that works for every rank.
import { tf } from '../tf.js';

const ZERO_GRAD_BINARY = [
  'Greater',
  'Less',
  'LessEqual',
  'Equal',
  'NotEqual',
  'LogicalAnd',
  'LogicalOr',
];
const ZERO_GRAD_UNARY = ['LogicalNot'];

function zeroGrads(names: string[]): tf.GradConfig['gradFunc'] {
  return (_dy, saved) => {
    const out: Record<string, () => tf.Tensor> = {};
    names.forEach((name, i) => {
      const x = saved[i] as tf.Tensor;
      out[name] = () => tf.zeros(x.shape, 'float32');
    });
    return out;
  };
}

/** Sums a broadcast gradient back to `shape`. */
function reduceTo(grad: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, grad.shape);
  const summed = axes.length > 0 ? tf.sum(grad, axes) : grad;
  return tf.reshape(summed, shape);
}

function minMaxGrad(kernelName: 'Maximum' | 'Minimum'): tf.GradConfig {
  // Same tie rule as tfjs: on a == b the whole gradient goes to `a`.
  const aWins = kernelName === 'Maximum' ? tf.greaterEqual : tf.lessEqual;
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const a = saved[0] as tf.Tensor;
      const b = saved[1] as tf.Tensor;
      const g = Array.isArray(dy) ? (dy[0] as tf.Tensor) : dy;
      return {
        a: () => reduceTo(tf.mul(g, tf.cast(aWins(a, b), 'float32')), a.shape),
        b: () => reduceTo(tf.mul(g, tf.cast(tf.logicalNot(aWins(a, b)), 'float32')), b.shape),
      };
    },
  };
}

const tileGrad: tf.GradConfig = {
  kernelName: 'Tile',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const x = saved[0] as tf.Tensor;
    const g = Array.isArray(dy) ? (dy[0] as tf.Tensor) : dy;
    const reps = (attrs as { reps: number[] }).reps;
    return {
      x: () => {
        // dy [r0*d0, r1*d1, ...] -> [r0, d0, r1, d1, ...], summed over the r axes
        const split = x.shape.flatMap((d, i) => [reps[i] as number, d]);
        const repAxes = x.shape.map((_, i) => 2 * i);
        return tf.reshape(tf.sum(tf.reshape(g, split), repAxes), x.shape);
      },
    };
  },
};

let registered = false;

/** Registers the gradient fixes above (idempotent; global to every backend). */
export function registerGradientFixes(): void {
  if (registered) return;
  registered = true;
  for (const kernelName of ZERO_GRAD_BINARY) {
    tf.registerGradient({ kernelName, inputsToSave: ['a', 'b'], gradFunc: zeroGrads(['a', 'b']) });
  }
  for (const kernelName of ZERO_GRAD_UNARY) {
    tf.registerGradient({ kernelName, inputsToSave: ['x'], gradFunc: zeroGrads(['x']) });
  }
  tf.registerGradient(minMaxGrad('Maximum'));
  tf.registerGradient(minMaxGrad('Minimum'));
  tf.registerGradient(tileGrad);
}
