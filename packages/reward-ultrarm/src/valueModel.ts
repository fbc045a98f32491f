import { linear, type TokenBatch, tf, type ValueModel } from '@remax/core';
import { inspectRewardCheckpoint } from './rewardCheckpoint.js';
import { loadBackboneAndHead, ScalarHeadModel } from './scalarHeadModel.js';

/**
 * PPO's critic: the reward model's backbone and head applied at EVERY position,
 * values [B, T]. Initialised from a reward-model checkpoint as DeepSpeed-Chat's
 * `create_critic_model` does (the step-2 reward model's weights, v_head
 * included, loaded into the critic), so before training the value at a row's
 * last real token equals that row's reward.
 */
export class UltraValueModel extends ScalarHeadModel implements ValueModel {
  /**
   * Values [B, T] (float32), differentiable w.r.t. parameters(); values at pad
   * positions are unspecified (mask them). Token ids must be in the
   * checkpoint's vocabulary.
   */
  values(batch: TokenBatch): tf.Tensor2D {
    return tf.tidy(() => {
      const hidden = this.backbone.hiddenStates(batch); // [B, T, H]
      const [B, T, H] = hidden.shape;
      const flat = tf.reshape(hidden, [B * T, H]) as tf.Tensor2D; // [B*T, H]
      // [1, H] -> [H, 1] is a reshape; linear() keeps forward and backward on plain 2-D matMuls
      const column = tf.reshape(this.head, [H, 1]) as tf.Tensor2D;
      return tf.reshape(linear(flat, column), [B, T]) as tf.Tensor2D; // [B, T]
    });
  }
}

/**
 * Loads a critic from a reward-model directory (UltraRM layout: Llama backbone +
 * `regression_head.weight` [1, hidden]). No tokenizer is needed: the critic
 * reads the ids it is given.
 */
export async function loadValueModel(dir: string): Promise<UltraValueModel> {
  const info = await inspectRewardCheckpoint(dir, { needTokenizer: false });
  const { backbone, head } = await loadBackboneAndHead(dir, info.headName);
  return new UltraValueModel(backbone, head, { dir, rawConfig: info.rawConfig });
}
