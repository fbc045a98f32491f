// The wasm backend must differentiate everything a Llama/Mistral decoder and its
// losses use, with the same numbers as the reference cpu backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, Rng, tf } from '../src/index.js';

interface Input {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype: 'float32' | 'int32' | 'bool';
  /** Differentiate w.r.t. this input (float32 only). */
  wrt: boolean;
}

const rng = Rng.fromSeed(1234);
function normal(shape: number[], scale = 1): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = rng.nextNormal() * scale;
  return { shape, values, dtype: 'float32', wrt: true };
}
function positive(shape: number[]): Input {
  const x = normal(shape);
  for (let i = 0; i < x.values.length; i++) x.values[i] = 0.5 + Math.abs(x.values[i] as number);
  return x;
}
function ints(shape: number[], values: number[]): Input {
  return { shape, values: Int32Array.from(values), dtype: 'int32', wrt: false };
}
function mask(shape: number[], values: number[]): Input {
  return { shape, values: Int32Array.from(values), dtype: 'bool', wrt: false };
}
function constant(x: Input): Input {
  return { ...x, wrt: false };
}

type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

/** Value and gradients of sum(f(...)) * a fixed random weighting, on the current backend. */
function valueAndGrads(f: Fn, inputs: Input[]): { value: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const xs = inputs.map((x) => tf.tensor(x.values, x.shape, x.dtype));
    const wrt = xs.filter((_, i) => inputs[i]?.wrt === true);
    const scalarOf = (...ws: tf.Tensor[]): tf.Scalar => {
      let k = 0;
      const all = xs.map((x, i) => (inputs[i]?.wrt === true ? (ws[k++] as tf.Tensor) : x));
      const y = f(...all);
      // A fixed non-uniform weighting so every output element has its own cotangent.
      const w = tf.sin(tf.range(0, y.size).reshape(y.shape)).add(1.5);
      return tf.sum(tf.mul(y.cast('float32'), w));
    };
    const { value, grads } = tf.valueAndGrads(scalarOf)(wrt);
    return {
      value: value.dataSync() as Float32Array,
      grads: grads.map((g) => g.dataSync() as Float32Array),
    };
  });
}

async function compare(f: Fn, inputs: Input[], tol = 1e-5): Promise<void> {
  await tf.setBackend('cpu');
  const ref = valueAndGrads(f, inputs);
  await tf.setBackend('wasm');
  const got = valueAndGrads(f, inputs);
  expect(got.grads.length).toBe(ref.grads.length);
  expect(got.grads.length).toBeGreaterThan(0);
  const scale = Math.max(1, Math.abs(ref.value[0] as number));
  expect(Math.abs((got.value[0] as number) - (ref.value[0] as number)) / scale).toBeLessThanOrEqual(
    tol,
  );
  ref.grads.forEach((r, k) => {
    const g = got.grads[k] as Float32Array;
    expect(g.length).toBe(r.length);
    let worst = 0;
    for (let i = 0; i < r.length; i++) {
      const err =
        Math.abs((g[i] as number) - (r[i] as number)) / Math.max(1, Math.abs(r[i] as number));
      if (!(err <= worst)) worst = err; // NaN-safe: NaN makes worst NaN and fails below
    }
    expect(worst).toBeLessThanOrEqual(tol);
  });
}

let savedEnv: string | undefined;
beforeAll(async () => {
  savedEnv = process.env['REMAX_BACKEND'];
  delete process.env['REMAX_BACKEND'];
  expect(await initBackend('wasm')).toBe('wasm');
});
afterAll(() => {
  if (savedEnv !== undefined) process.env['REMAX_BACKEND'] = savedEnv;
});

describe('wasm gradients equal cpu gradients', () => {
  it('gather (embedding backward) with repeated ids, 2-D ids and axis 1', async () => {
    await compare(
      (e, ids) => tf.gather(e, ids as tf.Tensor),
      [normal([7, 5]), ints([2, 3], [0, 2, 2, 6, 0, 3])],
    );
    await compare(
      (e, ids) => tf.gather(e, ids as tf.Tensor, 1),
      [normal([3, 6, 2]), ints([4], [5, 0, 5, 1])],
    );
    await compare(
      (x, ids) => tf.gather(x, ids as tf.Tensor, 1, 1),
      [normal([2, 5]), ints([2, 3], [0, 4, 4, 1, 1, 2])],
    );
  });

  it('unsortedSegmentSum forward matches cpu, dropping out-of-range ids', async () => {
    const run = (): number[] =>
      tf.tidy(() =>
        Array.from(
          tf
            .unsortedSegmentSum(
              tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]),
              tf.tensor1d([2, 0, 2, 9], 'int32'),
              3,
            )
            .dataSync(),
        ),
      );
    await tf.setBackend('wasm');
    expect(run()).toEqual([3, 4, 0, 0, 6, 8]);
  });

  it('matMul with every transpose flag, 2-D and batched', async () => {
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      const a2 = ta ? [5, 4] : [4, 5];
      const b2 = tb ? [3, 5] : [5, 3];
      await compare(
        (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb),
        [normal(a2), normal(b2)],
      );
      await compare(
        (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb),
        [normal([2, ...a2]), normal([2, ...b2])],
      );
    }
  });

  it('logSoftmax, softmax, logSumExp, reduce max', async () => {
    await compare((x) => tf.logSoftmax(x), [normal([3, 11], 3)]);
    await compare((x) => tf.softmax(x), [normal([2, 3, 7], 3)]);
    await compare((x) => tf.logSumExp(x, -1), [normal([4, 9], 2)]);
    await compare((x) => tf.max(x, 1), [normal([4, 9])]);
  });

  it('rsqrt, sqrt, exp, log, square, pow, abs, neg, reciprocal', async () => {
    await compare((x) => tf.rsqrt(x), [positive([4, 6])]);
    await compare((x) => tf.sqrt(x), [positive([4, 6])]);
    await compare((x) => tf.exp(x), [normal([4, 6])]);
    await compare((x) => tf.log(x), [positive([4, 6])]);
    await compare((x) => tf.square(x), [normal([4, 6])]);
    await compare((x) => tf.pow(x, 3), [normal([4, 6])]);
    await compare((x) => tf.abs(x), [normal([4, 6])]);
    await compare((x) => tf.neg(x), [normal([4, 6])]);
    await compare((x) => tf.reciprocal(x), [positive([4, 6])]);
  });

  it('mean and sum over axes, keepDims', async () => {
    await compare((x) => tf.mean(x), [normal([3, 4, 5])]);
    await compare((x) => tf.mean(x, -1, true), [normal([3, 4, 5])]);
    await compare((x) => tf.sum(x, [0, 2]), [normal([3, 4, 5])]);
  });

  it('concat, slice, split, stack, stridedSlice, pad', async () => {
    await compare(
      (a, b) => tf.concat([a as tf.Tensor, b as tf.Tensor], -1),
      [normal([2, 3, 4]), normal([2, 3, 2])],
    );
    await compare((x) => tf.slice(x, [0, 1, 1], [2, 2, 3]), [normal([3, 4, 5])]);
    await compare(
      (x) => {
        const [a, b] = tf.split(x, 2, -1);
        return tf.mul(a as tf.Tensor, b as tf.Tensor);
      },
      [normal([3, 8])],
    );
    await compare(
      (a, b) => tf.stack([a as tf.Tensor, b as tf.Tensor], 1),
      [normal([3, 4]), normal([3, 4])],
    );
    await compare(
      (x) =>
        tf.pad(x, [
          [1, 0],
          [0, 2],
        ]),
      [normal([3, 4])],
    );
  });

  it('where, maximum, minimum, clipByValue, relu', async () => {
    await compare(
      (c, a, b) => tf.where(c as tf.Tensor, a as tf.Tensor, b as tf.Tensor),
      [mask([2, 3], [1, 0, 0, 1, 1, 0]), normal([2, 3]), normal([2, 3])],
    );
    await compare(
      (a, b) => tf.maximum(a as tf.Tensor, b as tf.Tensor),
      [normal([3, 5]), normal([3, 5])],
    );
    await compare(
      (a, b) => tf.minimum(a as tf.Tensor, b as tf.Tensor),
      [normal([3, 5]), normal([1, 5])],
    );
    await compare((x) => tf.clipByValue(x, -0.5, 0.7), [normal([4, 5])]);
    await compare((x) => tf.relu(x), [normal([4, 5])]);
  });

  it('add, sub, mul, div with broadcasting', async () => {
    await compare(
      (a, b) => tf.add(a as tf.Tensor, b as tf.Tensor),
      [normal([2, 3, 4]), normal([4])],
    );
    await compare(
      (a, b) => tf.sub(a as tf.Tensor, b as tf.Tensor),
      [normal([2, 3, 4]), normal([3, 1])],
    );
    await compare(
      (a, b) => tf.mul(a as tf.Tensor, b as tf.Tensor),
      [normal([2, 1, 4]), normal([3, 1])],
    );
    await compare(
      (a, b) => tf.div(a as tf.Tensor, b as tf.Tensor),
      [normal([2, 3, 4]), positive([2, 3, 1])],
    );
  });

  it('reshape, transpose, expandDims, squeeze, tile', async () => {
    await compare((x) => tf.transpose(tf.reshape(x, [2, 3, 4]), [0, 2, 1]), [normal([6, 4])]);
    await compare((x) => tf.squeeze(tf.expandDims(x, 1), [1]), [normal([3, 4])]);
    await compare((x) => tf.tile(x, [1, 3, 1]), [normal([2, 1, 4])]);
  });

  it('sigmoid, silu, tanh, softplus', async () => {
    await compare((x) => tf.sigmoid(x), [normal([4, 6], 2)]);
    await compare((x) => tf.mul(x, tf.sigmoid(x)), [normal([4, 6], 2)]);
    await compare((x) => tf.tanh(x), [normal([4, 6], 2)]);
    await compare((x) => tf.softplus(x), [normal([4, 6], 2)]);
  });

  it('cumsum (plain, exclusive, reverse) and cast', async () => {
    await compare((x) => tf.cumsum(x, 1), [normal([3, 6])]);
    await compare((x) => tf.cumsum(x, 1, true, true), [normal([3, 6])]);
    await compare((x) => tf.mul(x, tf.cast(tf.greater(x, 0), 'float32')), [normal([3, 6])]);
    await compare(
      (x) =>
        tf.mul(x, tf.cast(tf.logicalAnd(tf.less(x, 1), tf.logicalNot(tf.equal(x, 0))), 'float32')),
      [normal([3, 6])],
    );
    await compare((x) => tf.cast(x, 'float32'), [normal([3, 6])]);
  });

  it('oneHot-selected log-probabilities (the policy-gradient pattern)', async () => {
    await compare(
      (logits, ids) => tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(ids as tf.Tensor1D, 9)), -1),
      [normal([5, 9], 2), ints([5], [0, 3, 8, 3, 1])],
    );
  });

  it('a whole Llama/Mistral decoder layer with GQA, RoPE, causal mask and LM head', async () => {
    const B = 2;
    const T = 5;
    const H = 8;
    const nH = 4;
    const nKV = 2;
    const hD = H / nH;
    const F = 12;
    const V = 11;
    const ids = ints([B, T], [1, 4, 4, 9, 0, 3, 3, 10, 2, 7]);
    const causal = mask(
      [T, T],
      Array.from({ length: T * T }, (_, k) => (Math.floor(k / T) >= k % T ? 1 : 0)),
    );
    const cos = constant(normal([T, hD]));
    const sin = constant(normal([T, hD]));
    const rope = (x: tf.Tensor, c: tf.Tensor, s: tf.Tensor): tf.Tensor => {
      // HF rotate_half: [-x2, x1]
      const [x1, x2] = tf.split(x, 2, -1);
      const rotated = tf.concat([tf.neg(x2 as tf.Tensor), x1 as tf.Tensor], -1);
      return tf.add(tf.mul(x, c), tf.mul(rotated, s));
    };
    const rmsNorm = (x: tf.Tensor, w: tf.Tensor): tf.Tensor =>
      tf.mul(w, tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))));
    const layer: Fn = (
      idsT,
      causalT,
      cosT,
      sinT,
      emb,
      n1,
      wq,
      wk,
      wv,
      wo,
      n2,
      wg,
      wu,
      wd,
      nf,
      head,
    ) => {
      const x = tf.gather(emb as tf.Tensor, idsT as tf.Tensor); // [B, T, H]
      const h = rmsNorm(x, n1 as tf.Tensor).reshape([B * T, H]);
      const q = tf
        .matMul(h, wq as tf.Tensor2D)
        .reshape([B, T, nH, hD])
        .transpose([0, 2, 1, 3]); // [B, nH, T, hD]
      const k = tf
        .matMul(h, wk as tf.Tensor2D)
        .reshape([B, T, nKV, hD])
        .transpose([0, 2, 1, 3]); // [B, nKV, T, hD]
      const v = tf
        .matMul(h, wv as tf.Tensor2D)
        .reshape([B, T, nKV, hD])
        .transpose([0, 2, 1, 3]);
      const c = (cosT as tf.Tensor).reshape([1, 1, T, hD]);
      const s = (sinT as tf.Tensor).reshape([1, 1, T, hD]);
      const qr = rope(q, c, s);
      // GQA: repeat each KV head nH/nKV times -> [B, nH, T, hD]
      const repeatKV = (t: tf.Tensor): tf.Tensor =>
        tf.tile(t.expandDims(2), [1, 1, nH / nKV, 1, 1]).reshape([B, nH, T, hD]);
      const kr = repeatKV(rope(k, c, s));
      const vr = repeatKV(v);
      const scores = tf
        .matMul(qr.reshape([B * nH, T, hD]), kr.reshape([B * nH, T, hD]), false, true)
        .div(Math.sqrt(hD));
      const masked = tf.where(
        tf.broadcastTo(causalT as tf.Tensor, [B * nH, T, T]),
        scores,
        tf.fill([B * nH, T, T], -1e9),
      );
      const attn = tf.matMul(tf.softmax(masked), vr.reshape([B * nH, T, hD])); // [B*nH, T, hD]
      const merged = attn
        .reshape([B, nH, T, hD])
        .transpose([0, 2, 1, 3])
        .reshape([B * T, H]);
      const x2 = tf.add(x.reshape([B * T, H]), tf.matMul(merged, wo as tf.Tensor2D));
      const h2 = rmsNorm(x2, n2 as tf.Tensor);
      const g = tf.matMul(h2, wg as tf.Tensor2D);
      const act = tf.mul(tf.mul(g, tf.sigmoid(g)), tf.matMul(h2, wu as tf.Tensor2D)); // SwiGLU
      const x3 = tf.add(x2, tf.matMul(act, wd as tf.Tensor2D));
      const logits = tf
        .matMul(rmsNorm(x3, nf as tf.Tensor), head as tf.Tensor2D)
        .reshape([B, T, V]);
      const logp = tf.logSoftmax(logits);
      // log p(ids[t+1] | ..t), the package-wide logprob convention
      const next = tf.slice(idsT as tf.Tensor, [0, 1], [B, T - 1]);
      const picked = tf.sum(
        tf.mul(tf.slice(logp, [0, 0, 0], [B, T - 1, V]), tf.oneHot(next as tf.Tensor2D, V)),
        -1,
      );
      return tf.mean(picked);
    };
    await compare(layer, [
      ids,
      causal,
      cos,
      sin,
      normal([V, H]),
      positive([H]),
      normal([H, H], 0.4),
      normal([H, nKV * hD], 0.4),
      normal([H, nKV * hD], 0.4),
      normal([H, H], 0.4),
      positive([H]),
      normal([H, F], 0.4),
      normal([H, F], 0.4),
      normal([F, H], 0.4),
      positive([H]),
      normal([H, V], 0.4),
    ]);
  });

  it('does not leak tensors across repeated gradient calls', async () => {
    await tf.setBackend('wasm');
    const f: Fn = (e, ids) => tf.logSoftmax(tf.gather(e, ids as tf.Tensor));
    const inputs = [normal([7, 5]), ints([4], [1, 1, 3, 6])];
    valueAndGrads(f, inputs);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) valueAndGrads(f, inputs);
    expect(tf.memory().numTensors).toBe(before);
  });
});
