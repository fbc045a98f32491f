import type { tf } from './tf.js';

/**
 * A batch of token ids with its attention mask, both int32 [B, T].
 * Prompts are left-padded (mask 0 on pads); positions are
 * cumsum(attentionMask) - 1 clamped at 0.
 */
export interface TokenBatch {
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
}

/** Options of `Policy.logprobsOf`. */
export interface LogprobsOptions {
  /**
   * Score only columns t >= fromColumn (default 0): earlier columns are 0 and
   * cost nothing. An RL step reads only the response (t >= promptLength - 1),
   * so the LM head skips the prompt, forward and backward.
   */
  fromColumn?: number;
}

/** The view of a causal language model that algorithms need (policy and reference). */
export interface Policy {
  /** Logits [B, T, V] for every position. */
  forward(batch: TokenBatch): tf.Tensor3D;
  /** logprobs[b, t] = log p(ids[b, t+1] | ids[b, ..t]), shape [B, T-1]. */
  logprobsOf(batch: TokenBatch, options?: LogprobsOptions): tf.Tensor2D;
  /** Trainable weights keyed by their Hugging Face names. */
  parameters(): Map<string, tf.Variable>;
  /** Hidden states after the final norm, [B, T, H]: what the LM head reads. */
  hiddenStates(batch: TokenBatch): tf.Tensor3D;
  /** The LM head on rows of hidden states: [n, H] -> logits [n, V]. */
  headLogits(hidden: tf.Tensor2D): tf.Tensor2D;
  /** V, the width of the logits. */
  readonly vocabSize: number;
}

/** A scalar reward per sequence (UltraRM and friends). */
export interface RewardModel {
  /** Rewards [B] at the last position whose mask is 1. */
  score(batch: TokenBatch): Promise<Float32Array>;
}
