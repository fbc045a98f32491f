import type { tf } from '@remax/core';

/**
 * The KV cache `generate` drives (the contract of @remax/model-mistral's
 * KVCache): `length` tokens seen so far; `gatherRows` makes a new cache with
 * the given rows (repeats allowed), e.g. to share one prefill between the
 * sampled and the greedy rows.
 */
export interface DecodingCache {
  readonly length: number;
  gatherRows(rows: number[]): DecodingCache;
  dispose(): void;
}

/**
 * What `generate` needs from a causal LM: @remax/model-mistral's CausalLM
 * satisfies it. With `kvCache`, `inputIds` holds only the new tokens
 * [B, Tnew] and `attentionMask` the full mask [B, Tpast + Tnew]; `lastOnly`
 * returns logits [B, 1, V] for the last position only.
 */
export interface DecodingModel {
  forward(args: {
    inputIds: tf.Tensor2D;
    attentionMask: tf.Tensor2D;
    kvCache?: DecodingCache;
    lastOnly?: boolean;
  }): tf.Tensor3D;
  createKVCache(batchSize: number, maxLength: number): DecodingCache;
}
