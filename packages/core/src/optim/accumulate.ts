// Gradient accumulation over micro-batches (a batch that does not fit one
// forward/backward pass). Reduction:
// - 'mean' (default): sum of micro-batch gradients / number of micro-batches.
//   With a per-micro-batch mean loss over equal-sized micro-batches this is the
//   full-batch gradient of the mean loss.
// - 'sum': the plain sum; use it when each micro-batch loss is already scaled
//   to its share of the batch (e.g. divided by the batch's total token count).
import { RemaxError } from '../errors.js';
import { tf } from '../tf.js';
import { variableGradsReleasing } from './releasingGrads.js';

export type GradReduction = 'mean' | 'sum';

/** Loss value and gradients of `lossFn` w.r.t. `params`, keyed by the params' names. */
export function gradsByName(
  lossFn: () => tf.Scalar,
  params: ReadonlyMap<string, tf.Variable>,
): { loss: number; grads: Map<string, tf.Tensor> } {
  const vars = [...params.values()];
  const nameOf = new Map<string, string>();
  for (const [name, v] of params) nameOf.set(v.name, name);
  // the same gradients as tf.variableGrads, with the backward's memory freed as it goes
  const { value, grads } = variableGradsReleasing(lossFn, vars);
  const loss = value.dataSync()[0] as number;
  value.dispose();
  const out = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) {
    const name = nameOf.get(varName);
    if (name === undefined) {
      g.dispose();
      continue;
    }
    out.set(name, g);
  }
  return { loss, grads: out };
}

export interface AccumulatedGrads {
  /** Reduced gradients (new tensors the caller disposes). */
  grads: Map<string, tf.Tensor>;
  /** Mean ('mean') or sum ('sum') of the micro-batch losses. */
  loss: number;
  microBatches: number;
  /** False when any micro-batch loss was NaN/Inf (the step should be skipped). */
  lossFinite: boolean;
}

/** Sums micro-batch gradients as they come, keeping one tensor per parameter. */
export class GradientAccumulator {
  private readonly sums = new Map<string, tf.Tensor>();
  private lossSum = 0;
  private count = 0;
  private finite = true;

  constructor(readonly reduction: GradReduction = 'mean') {
    if (reduction !== 'mean' && reduction !== 'sum') {
      throw new RemaxError('E_INPUT', 'unknown gradient reduction', {
        field: 'reduction',
        value: reduction,
        expected: 'mean | sum',
      });
    }
  }

  /** Micro-batches added since the last `result()`. */
  get microBatches(): number {
    return this.count;
  }

  /** Adds one micro-batch; the caller keeps (and disposes) `grads`. */
  add(grads: ReadonlyMap<string, tf.Tensor>, loss: number): void {
    for (const [name, g] of grads) {
      const prev = this.sums.get(name);
      if (prev === undefined) {
        this.sums.set(name, tf.clone(g));
      } else {
        if (!tf.util.arraysEqual(prev.shape, g.shape)) {
          throw new RemaxError('E_SHAPE', 'micro-batch gradient shape changed', {
            field: name,
            value: g.shape,
            expected: `[${prev.shape.join(', ')}]`,
          });
        }
        this.sums.set(name, tf.add(prev, g));
        prev.dispose();
      }
    }
    this.lossSum += loss;
    this.count += 1;
    if (!Number.isFinite(loss)) this.finite = false;
  }

  /** The reduced gradients; resets the accumulator. */
  result(): AccumulatedGrads {
    if (this.count === 0) {
      throw new RemaxError('E_STATE', 'no micro-batch was accumulated', {
        field: 'GradientAccumulator',
      });
    }
    const scale = this.reduction === 'mean' ? 1 / this.count : 1;
    const grads = new Map<string, tf.Tensor>();
    for (const [name, sum] of this.sums) {
      if (scale === 1) grads.set(name, sum);
      else {
        grads.set(name, tf.mul(sum, scale));
        sum.dispose();
      }
    }
    const out: AccumulatedGrads = {
      grads,
      loss: this.lossSum * scale,
      microBatches: this.count,
      lossFinite: this.finite,
    };
    this.sums.clear();
    this.lossSum = 0;
    this.count = 0;
    this.finite = true;
    return out;
  }

  /** Drops what was accumulated. */
  dispose(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
    this.lossSum = 0;
    this.count = 0;
    this.finite = true;
  }
}

/**
 * Runs `lossOf` on each micro-batch, backpropagates, and accumulates the
 * gradients w.r.t. `params` (keyed by their names). Peak memory: one
 * micro-batch's activations plus two gradient sets.
 */
export function accumulateGradients<T>(
  params: ReadonlyMap<string, tf.Variable>,
  microBatches: Iterable<T>,
  lossOf: (microBatch: T) => tf.Scalar,
  reduction: GradReduction = 'mean',
): AccumulatedGrads {
  const acc = new GradientAccumulator(reduction);
  try {
    for (const mb of microBatches) {
      const { loss, grads } = gradsByName(() => lossOf(mb), params);
      try {
        acc.add(grads, loss);
      } finally {
        for (const g of grads.values()) g.dispose();
      }
    }
    return acc.result();
  } finally {
    acc.dispose();
  }
}
