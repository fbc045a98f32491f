import { initBackend, Rng, tf } from '@remax/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { attention } from '../src/attention.js';
import { createCausalLM } from '../src/index.js';
import { embedHost, embedOps } from '../src/kernels/embedding.js';
import { rmsNormHost, rmsNormOps } from '../src/kernels/rmsNorm.js';
import { ropeHost, ropeOps, ropeTables } from '../src/kernels/rope.js';
import { attentionBias, positionsFromMask } from '../src/masks.js';
import { maxAbsDiff } from './helpers.js';

// The host-memory kernels (plain loops over the wasm heap) against the naive
// tensor-op versions they replace: values and gradients. The tensor-op
// versions are the ones the finite-difference test in gradients.test.ts
// checked before the host kernels existed, and still run on GPU backends.

const TOL = 1e-5;

function random(rng: Rng, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.nextNormal()),
    shape,
  );
}

/** Gradients of sum(f(xs) * probe) w.r.t. every input: a random cotangent, not all ones. */
function grads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], probe: tf.Tensor) {
  return tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), probe)))(xs);
}

function expectClose(a: tf.Tensor, b: tf.Tensor, tol = TOL): void {
  expect(a.shape).toEqual(b.shape);
  expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(tol);
}

describe('host kernels equal the tensor-op versions', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('rmsNorm: values, dx and dw', () => {
    tf.tidy(() => {
      const rng = Rng.fromSeed(1);
      const x = random(rng, [37, 24]) as tf.Tensor2D;
      const w = random(rng, [24]) as tf.Tensor1D;
      const probe = random(rng, [37, 24]);
      expectClose(rmsNormHost(x, w, 1e-5), rmsNormOps(x, w, 1e-5));
      const host = grads(
        (a, b) => rmsNormHost(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5),
        [x, w],
        probe,
      );
      const ops = grads(
        (a, b) => rmsNormOps(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5),
        [x, w],
        probe,
      );
      host.forEach((g, i) => {
        expectClose(g, ops[i] as tf.Tensor, 1e-4);
      });
    });
  });

  it('embedding lookup: values and the table gradient, repeated ids', () => {
    tf.tidy(() => {
      const rng = Rng.fromSeed(4);
      const table = random(rng, [11, 6]) as tf.Tensor2D;
      const ids = Int32Array.from([3, 0, 10, 3, 3, 7]);
      const probe = random(rng, [6, 6]);
      expectClose(embedHost(table, ids), embedOps(table, ids), 0);
      const [host] = grads((a) => embedHost(a as tf.Tensor2D, ids), [table], probe);
      const [ops] = grads((a) => embedOps(a as tf.Tensor2D, ids), [table], probe);
      expectClose(host as tf.Tensor, ops as tf.Tensor);
    });
  });

  it('RoPE: values and dx, left-padded positions', () => {
    tf.tidy(() => {
      const rng = Rng.fromSeed(2);
      const mask = Int32Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
      const tables = ropeTables(positionsFromMask(mask, 2, 8, 0), 16, 1e4);
      const x = random(rng, [16, 3, 16]) as tf.Tensor3D;
      const probe = random(rng, [16, 3, 16]);
      expectClose(ropeHost(x, tables), ropeOps(x, tables));
      const [host] = grads((a) => ropeHost(a as tf.Tensor3D, tables), [x], probe);
      const [ops] = grads((a) => ropeOps(a as tf.Tensor3D, tables), [x], probe);
      expectClose(host as tf.Tensor, ops as tf.Tensor);
    });
  });

  // GQA (6 heads on 2 KV heads), left padding, a sliding window, and keys that
  // reach past the queries (a KV cache: 5 cached + 9 new positions).
  for (const [label, past, window] of [
    ['causal', 0, null],
    ['cached keys, sliding window', 5, 6],
  ] as const) {
    it(`attention ('host' vs 'batched'), ${label}: values and dq, dkT, dv`, () => {
      tf.tidy(() => {
        const rng = Rng.fromSeed(3);
        const [B, T, nH, nKV, hD] = [3, 9, 6, 2, 8];
        const L = past + T;
        const mask = new Int32Array(B * L).fill(1);
        mask.fill(0, L, L + 3); // row 1: three pad positions on the left
        const bias = tf.tensor3d(attentionBias(mask, B, L, past, 0, window), [B, T, L]);
        const q = random(rng, [B * T, nH, hD]) as tf.Tensor3D;
        const kT = random(rng, [B * nKV, hD, L]) as tf.Tensor3D;
        const v = random(rng, [B * nKV, L, hD]) as tf.Tensor3D;
        const probe = random(rng, [B * T, nH * hD]);
        const run = (how: 'host' | 'batched') => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, bias, B, T, how);
        expectClose(run('host')(q, kT, v), run('batched')(q, kT, v));
        const host = grads(run('host'), [q, kT, v], probe);
        const ops = grads(run('batched'), [q, kT, v], probe);
        host.forEach((g, i) => {
          expectClose(g, ops[i] as tf.Tensor);
        });
      });
    });
  }
});

describe("the model with 'host' attention", () => {
  // Big enough that 'auto' picks the host path too (HOST_MIN_GROUP_MACS).
  const config = {
    model_type: 'mistral',
    vocab_size: 50,
    hidden_size: 64,
    intermediate_size: 96,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    sliding_window: null,
    tie_word_embeddings: false,
  };
  const rng = Rng.fromSeed(5);
  const T = 48;
  const ids = [0, 1].map(() => Array.from({ length: T }, () => rng.nextInt(50)));
  const mask = [Array.from({ length: T }, (_, t) => (t < 5 ? 0 : 1)), ids[1]?.map(() => 1) ?? []];

  beforeAll(async () => {
    await initBackend();
  });

  it("gives the gradients of 'batched' for every parameter, and leaks no tensor", () => {
    const model = createCausalLM(config, { rng: Rng.fromSeed(6), initStd: 0.3 });
    try {
      const vars = [...model.parameters().values()];
      const probe = random(Rng.fromSeed(7), [2, T - 1]);
      const run = (how: 'host' | 'batched') => {
        model.attentionMatMul = how;
        return tf.variableGrads(
          () =>
            tf.sum(
              tf.mul(model.logprobsOf({ inputIds: ids, attentionMask: mask }), probe),
            ) as tf.Scalar,
          vars,
        );
      };
      const host = run('host');
      const ops = run('batched');
      expect(
        Math.abs((host.value.dataSync()[0] as number) - (ops.value.dataSync()[0] as number)),
      ).toBeLessThan(1e-4);
      for (const v of vars) {
        const scale = tf.tidy(
          () => tf.max(tf.abs(ops.grads[v.name] as tf.Tensor)).dataSync()[0] as number,
        );
        expect(
          maxAbsDiff(host.grads[v.name] as tf.Tensor, ops.grads[v.name] as tf.Tensor),
          v.name,
        ).toBeLessThan(1e-4 * Math.max(1, scale));
      }
      tf.dispose([
        host.value,
        ops.value,
        ...Object.values(host.grads),
        ...Object.values(ops.grads),
      ]);

      model.attentionMatMul = 'auto';
      const before = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) {
        const { value, grads: g } = tf.variableGrads(
          () => tf.sum(model.logprobsOf({ inputIds: ids, attentionMask: mask })) as tf.Scalar,
          vars,
        );
        tf.dispose([value, ...Object.values(g)]);
        tf.dispose(model.forward({ inputIds: ids, attentionMask: mask }));
      }
      expect(tf.memory().numTensors).toBe(before);
      probe.dispose();
    } finally {
      model.dispose();
    }
  });
});
