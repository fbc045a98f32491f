// The gradient and kernel fixes against naive formulations that use only
// tfjs's own (correct) gradients.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/index.js';

beforeAll(async () => {
  await initBackend();
});

function close(a: tf.Tensor, b: tf.Tensor): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < x.length; i++)
    expect(Math.abs((x[i] as number) - (y[i] as number))).toBeLessThan(1e-6);
}

describe('gradient fixes', () => {
  it('Tile gradient works at rank 5 and equals the concat formulation', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 1, 3, 1, 2], 0, 1, 'float32', 7);
      const w = tf.randomNormal([2, 2, 3, 3, 2], 0, 1, 'float32', 8);
      const viaTile = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.tile(v, [1, 2, 1, 3, 1]), w)))(x);
      const viaConcat = tf.grad((v: tf.Tensor) => {
        const r1 = tf.concat([v, v], 1);
        return tf.sum(tf.mul(tf.concat([r1, r1, r1], 3), w));
      })(x);
      close(viaTile, viaConcat);
    });
  });

  it('Maximum / Minimum gradients reduce to broadcast input shapes', () => {
    tf.tidy(() => {
      const a = tf.tensor2d([
        [1, -2, 3],
        [0.5, 4, -1],
      ]);
      const b = tf.tensor2d([[0.7, 0.1, 3]]); // [1, 3]; a tie at [0, 2] goes to a
      const w = tf.tensor2d([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      for (const op of [tf.maximum, tf.minimum]) {
        const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(op(x, y), w)))([
          a,
          b,
        ]);
        const [na, nb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(op(x, tf.broadcastTo(y, [2, 3])), w)),
        )([a, b]);
        close(ga as tf.Tensor, na as tf.Tensor);
        close(gb as tf.Tensor, nb as tf.Tensor);
      }
    });
  });

  it('comparisons and logical ops on a differentiated path give zero gradient', () => {
    tf.tidy(() => {
      const x = tf.tensor1d([-1, 0, 2, 5]);
      const g = tf.grad((v: tf.Tensor) => {
        const inside = tf.logicalAnd(tf.greater(v, -0.5), tf.logicalNot(tf.equal(v, 5)));
        return tf.sum(tf.mul(tf.square(v), tf.cast(inside, 'float32')));
      })(x);
      expect(Array.from(g.dataSync())).toEqual([0, 0, 4, 0]);
    });
  });
});

/** Runs `body` on the wasm backend with REMAX_BACKEND unset, restoring it afterwards. */
async function onWasm(body: () => void): Promise<void> {
  const saved = process.env['REMAX_BACKEND'];
  delete process.env['REMAX_BACKEND'];
  try {
    expect(await initBackend('wasm')).toBe('wasm');
    body();
  } finally {
    if (saved !== undefined) process.env['REMAX_BACKEND'] = saved;
  }
}

describe('wasm kernel fixes', () => {
  it('gather with batchDims 1 picks each row from its own batch', async () => {
    await onWasm(() => {
      const got = tf.tidy(() =>
        Array.from(
          tf
            .gather(
              tf.tensor2d([
                [10, 11, 12, 13, 14],
                [20, 21, 22, 23, 24],
              ]),
              tf.tensor2d(
                [
                  [0, 4, 4],
                  [1, 1, 2],
                ],
                [2, 3],
                'int32',
              ),
              1,
              1,
            )
            .dataSync(),
        ),
      );
      expect(got).toEqual([10, 14, 14, 21, 21, 22]);
      expect(() =>
        tf.gather(tf.zeros([2, 3]), tf.tensor2d([[0], [3]], [2, 1], 'int32'), 1, 1),
      ).toThrow(/gather index out of range/);
    });
  });
});

describe('wasm Identity shares storage', () => {
  it('a clone outlives its source, a saved tensor feeds the gradient, nothing leaks', async () => {
    await onWasm(() => {
      const before = tf.memory().numTensors;
      const a = tf.tensor1d([1, 2, 3]);
      const b = tf.clone(a);
      expect(b.dataId).toBe(a.dataId); // shared, not copied
      a.dispose();
      expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
      b.dispose();
      // customGrad clones what it saves (Identity); the gradient reads the clones
      const cube = tf.customGrad((x, save) => {
        (save as tf.GradSaveFunc)([x as tf.Tensor]);
        return {
          value: tf.pow(x as tf.Tensor, 3),
          gradFunc: (dy, s) => tf.mul(dy as tf.Tensor, tf.mul(3, tf.square(s[0] as tf.Tensor))),
        };
      });
      const x = tf.tensor1d([1, -2, 0.5]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(cube(v)))(x);
      expect(Array.from(g.dataSync())).toEqual([3, 12, 0.75]);
      tf.dispose([x, g]);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
