// variableGradsReleasing: bitwise tf.variableGrads, with a lower backward peak.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, logprobsFromHidden, Rng, tf } from '../src/index.js';
import { variableGradsReleasing } from '../src/optim/releasingGrads.js';

const rng = Rng.fromSeed(5);
function randn(shape: number[], scale: number): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.nextNormal() * scale;
  return tf.variable(tf.tensor(v, shape));
}

describe('variableGradsReleasing', () => {
  let w1: tf.Variable;
  let w2: tf.Variable;
  let head: tf.Variable<tf.Rank.R2>;
  let headT: tf.Tensor2D;
  let x: tf.Tensor2D;
  const targets = Int32Array.from({ length: 24 }, (_, i) => (i * 7) % 50);

  beforeAll(async () => {
    await initBackend();
    w1 = randn([16, 32], 0.3);
    w2 = randn([32, 16], 0.3);
    head = randn([50, 16], 0.2) as tf.Variable<tf.Rank.R2>;
    headT = tf.transpose(head);
    x = tf.keep(randn([24, 16], 1)) as unknown as tf.Tensor2D;
  });
  afterAll(() => {
    tf.dispose([w1, w2, head, headT, x]);
  });

  // a small residual MLP into the fused head: shared inputs, fan-out, a custom op
  const loss = (): tf.Scalar => {
    const h1 = tf.relu(tf.matMul(x, w1));
    const h = tf.add(x, tf.mul(tf.matMul(h1, w2), tf.sigmoid(tf.matMul(h1, w2))));
    const lp = logprobsFromHidden(h as tf.Tensor2D, { weight: head, weightT: headT }, targets, {
      maxChunkElements: 8 * 50,
    });
    return tf.neg(tf.mean(tf.mul(lp, tf.add(lp, 1)))) as tf.Scalar;
  };

  it('gives bitwise the gradients and value of tf.variableGrads', () => {
    const vars = [w1, w2, head];
    const ref = tf.variableGrads(loss, vars);
    const ours = variableGradsReleasing(loss, vars);
    expect(ours.value.dataSync()).toEqual(ref.value.dataSync());
    expect(Object.keys(ours.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    for (const [k, g] of Object.entries(ref.grads)) {
      expect(ours.grads[k]?.dataSync()).toEqual(g.dataSync());
    }
    tf.dispose([ref.value, ours.value, ...Object.values(ref.grads), ...Object.values(ours.grads)]);
  });

  it('leaks nothing and peaks lower than tf.variableGrads', async () => {
    const vars = [w1, w2, head];
    const run = (
      f: (l: () => tf.Scalar, v: tf.Variable[]) => ReturnType<typeof tf.variableGrads>,
    ) => {
      const { value, grads } = f(loss, vars);
      tf.dispose([value, ...Object.values(grads)]);
    };
    run(variableGradsReleasing);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run(variableGradsReleasing);
    expect(tf.memory().numTensors).toBe(before);
    const peakRef = (await tf.profile(() => run(tf.variableGrads))).peakBytes;
    const peakOurs = (await tf.profile(() => run(variableGradsReleasing))).peakBytes;
    expect(peakOurs).toBeLessThan(peakRef);
  });

  it('refuses a loss that does not depend on the variables, without leaking', () => {
    const other = tf.variable(tf.scalar(1));
    const before = tf.memory().numTensors;
    expect(() => variableGradsReleasing(() => tf.mul(other, 2) as tf.Scalar, [w1])).toThrow(
      /does not depend/,
    );
    expect(tf.memory().numTensors).toBe(before);
    other.dispose();
  });
});
