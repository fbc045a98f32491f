import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, ParameterUpdater, tf } from '../src/index.js';

const settings = {
  lr: 0.01,
  betas: [0.9, 0.999] as [number, number],
  eps: 1e-8,
  weightDecay: 0.01,
  maxGradNorm: 0.5,
  schedule: 'constant' as const,
  warmupSteps: 0,
  totalSteps: null,
};

function makeParams(): Map<string, tf.Variable> {
  return new Map<string, tf.Variable>([
    [
      'w',
      tf.variable(
        tf.tensor2d([
          [0.5, -1],
          [2, 0.25],
        ]),
        true,
        `w${Math.random()}`,
      ),
    ],
    ['b', tf.variable(tf.tensor1d([0.1, -0.2]), true, `b${Math.random()}`)],
  ]);
}

const x = [
  [1, 2],
  [3, -1],
  [0.5, 0.5],
  [-2, 1],
];

/** Mean squared output over rows [s, e), scaled to a share of `rows` rows. */
function loss(params: Map<string, tf.Variable>, s: number, e: number, rows: number): tf.Scalar {
  const xs = tf.tensor2d(x.slice(s, e));
  const y = tf.add(tf.matMul(xs, params.get('w')!), params.get('b')!);
  return tf.div(tf.sum(tf.square(y)), rows) as tf.Scalar;
}

const values = (p: Map<string, tf.Variable>) =>
  [...p.values()].map((v) => Array.from(v.dataSync()));

beforeAll(async () => {
  await initBackend();
});

describe('ParameterUpdater', () => {
  it('accumulated micro-batches give the full-batch update', () => {
    const a = makeParams();
    const b = makeParams();
    const ua = new ParameterUpdater(a, settings);
    const ub = new ParameterUpdater(b, settings);
    ua.addMicroBatch(() => loss(a, 0, 4, 4));
    ub.addMicroBatch(() => loss(b, 0, 1, 4));
    ub.addMicroBatch(() => loss(b, 1, 4, 4));
    const ra = ua.step();
    const rb = ub.step();
    expect(rb.gradNorm).toBeCloseTo(ra.gradNorm, 5);
    expect(ra.gradNorm).toBeGreaterThan(settings.maxGradNorm); // clipping was exercised
    values(a).forEach((row, i) => {
      row.forEach((v, j) => {
        expect(Math.abs(v - (values(b)[i]?.[j] as number))).toBeLessThan(1e-6);
      });
    });
    ua.dispose();
    ub.dispose();
  });

  it('restores exactly from its state and does not leak', () => {
    const a = makeParams();
    const ua = new ParameterUpdater(a, settings, 'actor');
    for (let i = 0; i < 2; i++) {
      ua.addMicroBatch(() => loss(a, 0, 4, 4));
      ua.step();
    }
    const state = ua.getState();
    const b = new Map(
      [...a].map(([k, v]) => [k, tf.variable(v.clone(), true, `${k}${Math.random()}`)]),
    );
    const ub = new ParameterUpdater(b, settings, 'actor');
    ub.setState(state);
    tf.dispose([...state.tensors.values()]);
    const before = tf.memory().numTensors;
    ua.addMicroBatch(() => loss(a, 0, 4, 4));
    ub.addMicroBatch(() => loss(b, 0, 4, 4));
    expect(ua.step().step).toBe(3);
    expect(ub.step().step).toBe(3);
    expect(values(b)).toEqual(values(a));
    expect(tf.memory().numTensors).toBe(before);
    ua.dispose();
    ub.dispose();
  });

  it('discards a step whose micro-batch threw', () => {
    const a = makeParams();
    const b = makeParams();
    const ua = new ParameterUpdater(a, settings);
    const ub = new ParameterUpdater(b, settings);
    ua.addMicroBatch(() => loss(a, 0, 1, 4));
    expect(() =>
      ua.addMicroBatch(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    ua.addMicroBatch(() => loss(a, 0, 4, 4));
    ub.addMicroBatch(() => loss(b, 0, 4, 4));
    ua.step();
    ub.step();
    expect(values(a)).toEqual(values(b));
    ua.dispose();
    ub.dispose();
  });

  it('skips a non-finite loss without touching the weights', () => {
    const a = makeParams();
    const u = new ParameterUpdater(a, settings);
    const before = values(a);
    u.addMicroBatch(() => tf.mul(loss(a, 0, 4, 4), Number.NaN) as tf.Scalar);
    const r = u.step();
    expect(r.skipped).toBe(true);
    expect(r.skippedTotal).toBe(1);
    expect(values(a)).toEqual(before);
    u.dispose();
  });
});
