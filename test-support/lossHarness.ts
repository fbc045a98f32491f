// Runs an algorithm's `xxxLoss` for its value, gradients (by HF name) and stats,
// and checks that row micro-batches of it add up to the whole batch.
import { expect } from 'vitest';
import { gradsByName, tf } from '../packages/core/src/index.js';

/** `f` once under gradsByName: the loss value, the gradients (caller disposes) and f's stats. */
export function lossGradsStats<S>(
  f: () => { loss: tf.Scalar; stats: S },
  params: ReadonlyMap<string, tf.Variable>,
): { loss: number; grads: Map<string, tf.Tensor>; stats: S } {
  let stats: S | undefined;
  const { loss, grads } = gradsByName(() => {
    const out = f();
    stats = out.stats;
    return out.loss;
  }, params);
  return { loss, grads, stats: stats as S };
}

/**
 * `lossOf(rows)` over the row ranges `splits` sums to `lossOf(undefined)` (the
 * whole batch), in value and in every gradient.
 */
export function expectMicroBatchesAddUp(
  lossOf: (rows?: readonly [number, number]) => tf.Scalar,
  params: ReadonlyMap<string, tf.Variable>,
  splits: readonly (readonly [number, number])[],
): void {
  const full = gradsByName(() => lossOf(), params);
  let loss = 0;
  const sums = new Map<string, tf.Tensor>();
  for (const rows of splits) {
    const part = gradsByName(() => lossOf(rows), params);
    loss += part.loss;
    for (const [k, g] of part.grads) {
      const prev = sums.get(k);
      sums.set(k, prev ? tf.add(prev, g) : g.clone());
      tf.dispose([prev as tf.Tensor, g]);
    }
  }
  expect(loss).toBeCloseTo(full.loss, 6);
  for (const [k, g] of full.grads) {
    const want = g.dataSync();
    const got = sums.get(k)?.dataSync() as Float32Array;
    want.forEach((w, i) => {
      expect(got[i], `${k}[${i}]`).toBeCloseTo(w, 5);
    });
  }
  tf.dispose([...full.grads.values(), ...sums.values()]);
}
