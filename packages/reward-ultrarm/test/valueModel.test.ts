import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '@remax/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lastRealIndex,
  loadRewardModel,
  loadValueModel,
  type UltraValueModel,
} from '../src/index.js';
import { golden, ultraRMVariant } from './helpers.js';

let critic: UltraValueModel;
const disposables: { dispose(): void }[] = [];

function tensors(p: { input_ids: number[][]; attention_mask: number[][] }) {
  return {
    inputIds: tf.tensor2d(p.input_ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(p.attention_mask, undefined, 'int32'),
  };
}

beforeAll(async () => {
  await initBackend();
  critic = await loadValueModel(ultraRMVariant('bin'));
  disposables.push(critic);
});
afterAll(() => {
  for (const d of disposables) d.dispose();
});

describe('value model (PPO critic) initialised from UltraRM', () => {
  it('gives [B, T] values whose last-real-token entries are the golden rewards', () => {
    for (const padding of ['right_padded', 'left_padded'] as const) {
      const batch = tensors(golden[padding]);
      const values = critic.values(batch);
      try {
        expect(values.shape).toEqual([3, golden[padding].input_ids[0]?.length]);
        const rows = values.arraySync();
        lastRealIndex(golden[padding].attention_mask).forEach((t, b) => {
          expect(
            Math.abs((rows[b]?.[t] ?? Number.NaN) - (golden[padding].rewards[b] ?? 0)),
          ).toBeLessThan(1e-4);
        });
      } finally {
        values.dispose();
        batch.inputIds.dispose();
        batch.attentionMask.dispose();
      }
    }
  });

  it('is trainable: gradients reach the head and the backbone, and match a finite difference', () => {
    const params = critic.parameters();
    expect(params.has('regression_head.weight')).toBe(true);
    expect(params.has('model.embed_tokens.weight')).toBe(true);
    expect(params.has('lm_head.weight')).toBe(false);
    const batch = tensors(golden.right_padded);
    const maskF = tf.cast(batch.attentionMask, 'float32');
    const loss = () => tf.sum(tf.mul(critic.values(batch), maskF)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, [...params.values()]);
    try {
      // variableGrads keys gradients by tf.Variable name, not by HF name
      const gradOf = (hfName: string) => grads[params.get(hfName)?.name ?? ''];
      const headGrad = gradOf('regression_head.weight');
      const normGrad = gradOf('model.norm.weight');
      expect(headGrad?.shape).toEqual([1, 64]);
      expect(normGrad).toBeDefined();
      expect(Number.isFinite(tf.norm(headGrad as tf.Tensor).arraySync())).toBe(true);
      expect(tf.norm(normGrad as tf.Tensor).arraySync()).toBeGreaterThan(0);
      // the loss is linear in the head: d loss / d head = sum over real positions of hidden
      const head = params.get('regression_head.weight') as tf.Variable;
      const original = head.clone();
      const eps = 1e-2;
      const k = 5;
      const bump = tf.tidy(() => tf.add(original, tf.mul(tf.oneHot([k], 64), eps)));
      head.assign(bump);
      const bumped = tf.tidy(() => loss().arraySync());
      head.assign(original);
      const fd = (bumped - value.arraySync()) / eps;
      const analytic = (headGrad as tf.Tensor).arraySync() as number[][];
      expect(Math.abs(fd - (analytic[0]?.[k] ?? 0))).toBeLessThan(1e-2 * Math.max(1, Math.abs(fd)));
      original.dispose();
      bump.dispose();
    } finally {
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
      maskF.dispose();
      batch.inputIds.dispose();
      batch.attentionMask.dispose();
    }
  });

  it('saves an HF directory that loads back as the same critic and reward model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remax-critic-'));
    await critic.save(dir, { dtype: 'float32' });
    const again = await loadValueModel(dir);
    const rm = await loadRewardModel(dir);
    disposables.push(again, rm);
    const batch = tensors(golden.left_padded);
    const a = critic.values(batch);
    const b = again.values(batch);
    try {
      expect(tf.max(tf.abs(tf.sub(a, b))).arraySync()).toBe(0);
      const rewards = await rm.score(batch);
      golden.left_padded.rewards.forEach((w, i) => {
        expect(Math.abs((rewards[i] ?? Number.NaN) - w)).toBeLessThan(1e-4);
      });
    } finally {
      a.dispose();
      b.dispose();
      batch.inputIds.dispose();
      batch.attentionMask.dispose();
    }
  });

  it('saves bfloat16 weights that load back within bf16 rounding', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remax-critic-bf16-'));
    await critic.save(dir, { dtype: 'bfloat16' });
    const again = await loadValueModel(dir);
    disposables.push(again);
    const [name, v] = [...again.parameters()][0] ?? [];
    const orig = critic.parameters().get(name ?? '');
    expect(v && orig).toBeTruthy();
    const diff = tf.tidy(
      () => tf.max(tf.abs(tf.sub(v as tf.Tensor, orig as tf.Tensor))).dataSync()[0] ?? 1,
    );
    const scale = tf.tidy(() => tf.max(tf.abs(orig as tf.Tensor)).dataSync()[0] ?? 0);
    expect(diff).toBeLessThanOrEqual(scale * 2 ** -8);
  });

  it('does not leak tensors across calls', () => {
    const batch = tensors(golden.right_padded);
    const run = () => critic.values(batch).dispose();
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    batch.inputIds.dispose();
    batch.attentionMask.dispose();
  });
});
