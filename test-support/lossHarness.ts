// Checks shared by the algorithm packages' tests: an `xxxLoss` run for its value,
// gradients (by HF name) and stats; its row micro-batches adding up to the whole
// batch; steps without tensor leaks; the checkpoint state round trip.
import { expect } from 'vitest';
import {
  type Algorithm,
  gradsByName,
  type Policy,
  type ScoredBatch,
  type StepMetrics,
  type TokenBatch,
  tf,
} from '../packages/core/src/index.js';
import type { GroupBatchFixture } from './goldenGradients.js';

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

type GroupLoss<O> = (
  policy: Policy,
  reference: Policy,
  inputs: ScoredBatch,
  options: O,
) => { loss: tf.Scalar };

/**
 * `lossFn` over the row ranges `splits` of `inputs` sums to `lossFn` over the
 * whole batch, in value and in every gradient. Disposes `inputs`' tensors.
 */
export function expectMicroBatchesAddUp<O>(
  lossFn: GroupLoss<O>,
  models: { policy: Policy; reference: Policy },
  inputs: ScoredBatch,
  options: O,
  splits: readonly (readonly [number, number])[],
): void {
  const { policy, reference } = models;
  const params = policy.parameters();
  const full = gradsByName(() => lossFn(policy, reference, inputs, options).loss, params);
  let loss = 0;
  const sums = new Map<string, tf.Tensor>();
  for (const rows of splits) {
    const part = gradsByName(
      () => lossFn(policy, reference, { ...inputs, rows }, options).loss,
      params,
    );
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
  tf.dispose([...full.grads.values(), ...sums.values(), inputs.inputIds, inputs.attentionMask]);
}

/**
 * Runs `steps` makeExperience + trainStep rounds on `prompts`: the number of
 * live tensors stays flat after the first, every update is applied, and the
 * policy's weights move. `check` sees each step's metrics.
 */
export async function expectStepsWithoutLeaks(
  algo: Algorithm,
  policy: Policy,
  prompts: TokenBatch,
  steps: number,
  check: (metrics: StepMetrics) => void,
): Promise<void> {
  const before = [...policy.parameters().values()].map((v) => Float32Array.from(v.dataSync()));
  let live = 0;
  for (let step = 1; step <= steps; step++) {
    const experience = await algo.makeExperience(prompts);
    const metrics = await algo.trainStep(experience);
    experience.dispose();
    if (step === 1) live = tf.memory().numTensors;
    expect(metrics.step).toBe(step);
    expect(metrics['optim/skipped']).toBe(0);
    check(metrics);
  }
  expect(tf.memory().numTensors).toBe(live);
  const after = [...policy.parameters().values()].map((v) => v.dataSync());
  expect(after.some((v, i) => v.some((y, j) => y !== before[i]?.[j]))).toBe(true);
}

/** A fresh algorithm restored from `algo`'s state reports the same state. Disposes `fresh`. */
export function expectStateRoundTrip(algo: Algorithm, fresh: Algorithm): void {
  const state = algo.getState();
  fresh.setState(state);
  tf.dispose([...state.tensors.values()]);
  const [a, b] = [algo.getState(), fresh.getState()];
  expect(b.json).toEqual(a.json);
  expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
  for (const [k, t] of a.tensors) expect(b.tensors.get(k)?.dataSync(), k).toEqual(t.dataSync());
  tf.dispose([...a.tensors.values(), ...b.tensors.values()]);
  fresh.dispose();
}

/** A fixture's batch as a ScoredBatch, every size read from the file (tensors the caller disposes). */
export function fixtureScoredBatch(f: GroupBatchFixture): ScoredBatch {
  return {
    inputIds: tf.tensor2d(f.input_ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(f.attention_mask, undefined, 'int32'),
    promptLength: f.prompt_len,
    scores: f.scores,
    groupSize: f.num_generations,
  };
}
