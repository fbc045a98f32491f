import { beforeAll, describe, expect, it } from 'vitest';
import {
  entropyFromLogits,
  fullKL,
  initBackend,
  linear,
  logprobsFromLogits,
  Rng,
  tf,
} from '../src/index.js';
import { entropyWithTensorOps } from '../src/ops/entropy.js';
import { fullKLWithTensorOps } from '../src/ops/fullKL.js';
import { logprobsWithTensorOps } from '../src/ops/logprobs.js';

function randn(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.nextNormal() * scale;
  return tf.tensor(data, shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

// Naive references: the textbook formulas on the full [B, T, V] tensors.
function naiveLogprobs(logits: tf.Tensor3D, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, T, V] = logits.shape;
  const lsm = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [B, T - 1, V]));
  const hot = tf.oneHot(tf.slice(ids, [0, 1], [B, T - 1]), V);
  return tf.sum(tf.mul(lsm, hot), 2) as tf.Tensor2D;
}
function naiveKL(p: tf.Tensor3D, q: tf.Tensor3D): tf.Tensor2D {
  const a = tf.logSoftmax(p);
  const b = tf.logSoftmax(q);
  return tf.sum(tf.mul(tf.exp(a), tf.sub(a, b)), 2) as tf.Tensor2D;
}
function naiveEntropy(x: tf.Tensor3D): tf.Tensor2D {
  const a = tf.logSoftmax(x);
  return tf.neg(tf.sum(tf.mul(tf.exp(a), a), 2)) as tf.Tensor2D;
}

describe('ops', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('linear equals matMul, and its gradient equals the autodiff gradient', () => {
    const rng = Rng.fromSeed(1);
    tf.tidy(() => {
      const x = randn(rng, [5, 7]) as tf.Tensor2D;
      const w = randn(rng, [7, 3]) as tf.Tensor2D;
      const c = randn(rng, [5, 3]);
      expect(maxAbsDiff(linear(x, w), tf.matMul(x, w))).toBeLessThan(1e-5);
      const f1 = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(linear(a as tf.Tensor2D, b as tf.Tensor2D), c));
      const f2 = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), c));
      const [gx1, gw1] = tf.grads(f1)([x, w]) as [tf.Tensor, tf.Tensor];
      const [gx2, gw2] = tf.grads(f2)([x, w]) as [tf.Tensor, tf.Tensor];
      expect(maxAbsDiff(gx1, gx2)).toBeLessThan(1e-5);
      expect(maxAbsDiff(gw1, gw2)).toBeLessThan(1e-5);
    });
  });

  it('logprobsFromLogits, fullKL and entropy match the naive formulas (values and gradients)', () => {
    const rng = Rng.fromSeed(2);
    tf.tidy(() => {
      const [B, T, V] = [2, 5, 11];
      const p = randn(rng, [B, T, V], 3) as tf.Tensor3D;
      const q = randn(rng, [B, T, V], 3) as tf.Tensor3D;
      const idsData: number[][] = [];
      for (let b = 0; b < B; b++) idsData.push(Array.from({ length: T }, () => rng.nextInt(V)));
      const ids = tf.tensor2d(idsData, [B, T], 'int32');
      const c1 = randn(rng, [B, T - 1]);
      const c2 = randn(rng, [B, T]);
      expect(maxAbsDiff(logprobsFromLogits(p, ids), naiveLogprobs(p, ids))).toBeLessThan(1e-5);
      expect(maxAbsDiff(fullKL(p, q), naiveKL(p, q))).toBeLessThan(1e-5);
      expect(maxAbsDiff(entropyFromLogits(p), naiveEntropy(p))).toBeLessThan(1e-5);

      const gFast = tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(logprobsFromLogits(x as tf.Tensor3D, ids), c1)),
      )(p);
      const gNaive = tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(naiveLogprobs(x as tf.Tensor3D, ids), c1)),
      )(p);
      expect(maxAbsDiff(gFast, gNaive)).toBeLessThan(1e-5);

      const [kp, kq] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(fullKL(x as tf.Tensor3D, y as tf.Tensor3D), c2)),
      )([p, q]) as [tf.Tensor, tf.Tensor];
      const [np, nq] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(naiveKL(x as tf.Tensor3D, y as tf.Tensor3D), c2)),
      )([p, q]) as [tf.Tensor, tf.Tensor];
      expect(maxAbsDiff(kp, np)).toBeLessThan(1e-5);
      expect(maxAbsDiff(kq, nq)).toBeLessThan(1e-5);

      const he = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(entropyFromLogits(x as tf.Tensor3D), c2)))(
        p,
      );
      const hn = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(naiveEntropy(x as tf.Tensor3D), c2)))(p);
      expect(maxAbsDiff(he, hn)).toBeLessThan(1e-5);
    });
  });

  it('chunked tensor-op paths (GPU/native backends) agree with the naive formulas', () => {
    const rng = Rng.fromSeed(3);
    tf.tidy(() => {
      // chunks of 3 rows (maxChunkElements 3 * V): several chunks and a ragged last one
      const [B, T, V] = [2, 7, 50];
      const chunk = { maxChunkElements: 3 * V };
      const p = randn(rng, [B, T, V], 2) as tf.Tensor3D;
      const q = randn(rng, [B, T, V], 2) as tf.Tensor3D;
      const ids = tf.tensor2d(
        Array.from({ length: B }, () => Array.from({ length: T }, () => rng.nextInt(V))),
        [B, T],
        'int32',
      );
      const c1 = randn(rng, [B, T - 1]);
      const c2 = randn(rng, [B, T]);
      expect(maxAbsDiff(logprobsWithTensorOps(p, ids, 3 * V), naiveLogprobs(p, ids))).toBeLessThan(
        1e-5,
      );
      expect(maxAbsDiff(entropyWithTensorOps(p, chunk), naiveEntropy(p))).toBeLessThan(1e-5);
      expect(maxAbsDiff(fullKLWithTensorOps(p, q, chunk), naiveKL(p, q))).toBeLessThan(1e-5);
      const g1 = tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(logprobsWithTensorOps(x as tf.Tensor3D, ids, 3 * V), c1)),
      )(p);
      const g2 = tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(naiveLogprobs(x as tf.Tensor3D, ids), c1)),
      )(p);
      expect(maxAbsDiff(g1, g2)).toBeLessThan(1e-5);
      const k1 = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(fullKL(x as tf.Tensor3D, q, chunk), c2)))(
        p,
      );
      const k2 = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(naiveKL(x as tf.Tensor3D, q), c2)))(p);
      expect(maxAbsDiff(k1, k2)).toBeLessThan(1e-5);
    });
  });

  it('logprobsFromLogits at the real vocab (32000) agrees with the naive formula', () => {
    const rng = Rng.fromSeed(5);
    tf.tidy(() => {
      const [B, T, V] = [2, 5, 32000];
      const p = randn(rng, [B, T, V], 2) as tf.Tensor3D;
      const ids = tf.tensor2d(
        Array.from({ length: B }, () => Array.from({ length: T }, () => rng.nextInt(V))),
        [B, T],
        'int32',
      );
      expect(maxAbsDiff(logprobsFromLogits(p, ids), naiveLogprobs(p, ids))).toBeLessThan(1e-4);
    });
  });

  it('does not leak tensors', () => {
    const rng = Rng.fromSeed(4);
    const p = randn(rng, [2, 4, 9]) as tf.Tensor3D;
    const q = randn(rng, [2, 4, 9]) as tf.Tensor3D;
    const ids = tf.tensor2d(
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ],
      [2, 4],
      'int32',
    );
    const run = () => {
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.add(
          tf.add(
            tf.sum(logprobsFromLogits(x as tf.Tensor3D, ids)),
            tf.sum(fullKL(x as tf.Tensor3D, y as tf.Tensor3D)),
          ),
          tf.sum(entropyFromLogits(x as tf.Tensor3D)),
        ),
      )([p, q]);
      tf.dispose(g);
    };
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([p, q, ids]);
  });
});
