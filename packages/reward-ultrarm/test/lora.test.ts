import { initBackend, tf } from '@remax/core';
import { addLoRA } from '@remax/model-mistral';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadValueModel, REGRESSION_HEAD, type UltraValueModel } from '../src/index.js';
import { golden, ultraRMVariant } from './helpers.js';

// PPO's critic with LoRA: the same addLoRA as the policy, on the critic's backbone.
let critic: UltraValueModel;
const batch = () => ({
  inputIds: tf.tensor2d(golden.left_padded.input_ids, undefined, 'int32'),
  attentionMask: tf.tensor2d(golden.left_padded.attention_mask, undefined, 'int32'),
});

beforeAll(async () => {
  await initBackend();
  critic = await loadValueModel(ultraRMVariant('bin'));
});
afterAll(() => critic?.dispose());

describe('critic backbone with LoRA adapters', () => {
  it('trains the adapters and the head only; a fresh adapter leaves the values unchanged', () => {
    const b = batch();
    try {
      const before = tf.tidy(() => critic.values(b).dataSync());
      expect([...critic.trainableParameters().keys()]).toEqual([...critic.parameters().keys()]);
      addLoRA(critic.backbone, { r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj'], seed: 1 });
      expect(tf.tidy(() => critic.values(b).dataSync())).toEqual(before);
      const trainable = critic.trainableParameters();
      const names = [...trainable.keys()];
      expect(names.at(-1)).toBe(REGRESSION_HEAD);
      expect(
        names
          .slice(0, -1)
          .every((n) =>
            /^base_model\.model\.model\.layers\.\d+\.self_attn\.[qv]_proj\.lora_[AB]\.weight$/.test(
              n,
            ),
          ),
      ).toBe(true);
      expect(names.length).toBe(1 + 4 * critic.backbone.dims.layers);
      const { value, grads } = tf.variableGrads(
        () => tf.tidy(() => tf.sum(critic.values(b)) as tf.Scalar),
        [...trainable.values()],
      );
      const gB =
        grads[
          (
            trainable.get(
              'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight',
            ) as tf.Variable
          ).name
        ];
      expect(gB && tf.tidy(() => tf.max(tf.abs(gB)).dataSync()[0] as number)).toBeGreaterThan(0);
      expect(grads[critic.head.name]).toBeDefined();
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      tf.dispose([b.inputIds, b.attentionMask]);
    }
  });
});
