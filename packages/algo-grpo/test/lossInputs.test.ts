// grpoLoss's inputs on a table policy: typed errors, precomputed reference
// log-probabilities, beta 0 without a reference forward, no leaks.
import { initBackend, type Policy, tf } from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GrpoLossOptions, grpoLoss } from '../src/loss.js';
import { TablePolicy } from './tablePolicy.js';

const ids = [
  [0, 1, 4, 5, 6, 2, 0],
  [0, 1, 4, 7, 2, 0, 0],
  [1, 3, 3, 9, 9, 9, 9],
  [1, 3, 3, 2, 0, 0, 0],
];
const mask = [
  [0, 1, 1, 1, 1, 1, 0],
  [0, 1, 1, 1, 1, 0, 0],
  [1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 0, 0, 0],
];
const P = 3;
const options: GrpoLossOptions = {
  scaleRewards: 'group',
  lossType: 'grpo',
  beta: 0.1,
  epsilonLow: 0.2,
  epsilonHigh: 0.28,
};

let policy: TablePolicy;
let reference: TablePolicy;
beforeAll(async () => {
  await initBackend();
  policy = new TablePolicy(11, 1);
  reference = new TablePolicy(11, 2);
});
afterAll(() => {
  policy.dispose();
  reference.dispose();
});

function withInputs(f: (x: Parameters<typeof grpoLoss>[2]) => void) {
  const x = {
    inputIds: tf.tensor2d(ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(mask, undefined, 'int32'),
    promptLength: P,
    scores: [0.3, -0.1, 0.9, 0.2],
    groupSize: 2,
  };
  try {
    f(x);
  } finally {
    tf.dispose([x.inputIds, x.attentionMask]);
  }
}
const lossOf = (r: ReturnType<typeof grpoLoss>) => {
  const v = r.loss.dataSync()[0] as number;
  r.loss.dispose();
  return v;
};

describe('grpoLoss inputs', () => {
  it('rejects bad groups, scores, row ranges and dr_grpo without its constant, with typed errors', () => {
    withInputs((x) => {
      const run =
        (inputs: typeof x, o: GrpoLossOptions = options) =>
        () =>
          grpoLoss(policy, reference, inputs, o);
      expect(run({ ...x, groupSize: 3 })).toThrow(/groupSize/);
      expect(run({ ...x, groupSize: 1 })).toThrow(/at least 2 samples/);
      expect(run({ ...x, scores: [1, 2, 3] })).toThrow(/scores must hold one value per row/);
      expect(run(x, { ...options, rows: [2, 5] })).toThrow(/rows must be a non-empty range/);
      expect(run(x, { ...options, lossType: 'dr_grpo' })).toThrow(/maxCompletionLength/);
      expect(run(x, { ...options, lossType: 'dr_grpo', maxCompletionLength: 3 })).toThrow(
        /longest response \(4 tokens\)/,
      );
      expect(run({ ...x, refLogprobs: [[0]] })).toThrow(/refLogprobs must be \[N, T-1\]/);
    });
  });

  it('precomputed reference log-probabilities give the same loss', () => {
    withInputs((x) => {
      const refLogprobs = tf.tidy(() => reference.logprobsOf(x).arraySync() as number[][]);
      const a = lossOf(grpoLoss(policy, reference, x, options));
      const b = lossOf(grpoLoss(policy, reference, { ...x, refLogprobs }, options));
      expect(b).toBeCloseTo(a, 6);
    });
  });

  it('beta 0 never runs the reference', () => {
    const never = {
      logprobsOf: () => {
        throw new Error('reference used');
      },
    } as unknown as Policy;
    withInputs((x) => {
      const r = grpoLoss(policy, never, x, { ...options, beta: 0 });
      expect(Number.isFinite(lossOf(r))).toBe(true);
      expect(() => grpoLoss(policy, never, x, options)).toThrow(/reference used/);
    });
  });

  it('does not leak tensors across repeated loss + gradient calls', () => {
    withInputs((x) => {
      const vars = [...policy.parameters().values()];
      const once = () => {
        const g = tf.variableGrads(() => grpoLoss(policy, reference, x, options).loss, vars);
        tf.dispose([g.value, ...Object.values(g.grads)]);
      };
      once();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) once();
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
