// A next-token table as a language model: logits at position t = W[ids[t]] (one
// [V, V] weight). Enough to test GRPO's step, leaks and learning without a
// transformer; also a DecodingModel, so @remax/rollout samples from it.
import { logprobsFromLogits, type Policy, type TokenBatch, tf } from '@remax/core';
import type { DecodingCache, DecodingModel } from '@remax/rollout';

/** A position's logits depend on its token alone: the KV cache holds nothing. */
const NO_PAST: DecodingCache = { length: 0, gatherRows: () => NO_PAST, dispose: () => {} };
/** tf.Variable names are global: two tables of one seed may coexist (policy and reference). */
let made = 0;

export class TablePolicy implements Policy, DecodingModel {
  private readonly table: tf.Variable;

  constructor(
    readonly vocabSize: number,
    seed: number,
    scale = 0.5,
  ) {
    const init = tf.randomNormal([vocabSize, vocabSize], 0, scale, 'float32', seed);
    this.table = tf.variable(init, true, `table-${seed}-${made++}`);
    init.dispose();
  }

  /** One-hot rows of the ids: what the "head" (the table) reads. */
  hiddenStates(batch: TokenBatch): tf.Tensor3D {
    return tf.oneHot(batch.inputIds, this.vocabSize).toFloat() as tf.Tensor3D;
  }

  headLogits(hidden: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(hidden, this.table);
  }

  forward(batch: TokenBatch & { lastOnly?: boolean }): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T] = batch.inputIds.shape;
      const ids = batch.lastOnly ? tf.slice(batch.inputIds, [0, T - 1], [B, 1]) : batch.inputIds;
      return tf.gather(this.table, ids) as tf.Tensor3D; // [B, T or 1, V]
    });
  }

  logprobsOf(batch: TokenBatch): tf.Tensor2D {
    return tf.tidy(() => logprobsFromLogits(this.forward(batch), batch.inputIds));
  }

  parameters(): Map<string, tf.Variable> {
    return new Map([['table', this.table]]);
  }

  createKVCache(): DecodingCache {
    return NO_PAST;
  }

  dispose(): void {
    this.table.dispose();
  }
}
