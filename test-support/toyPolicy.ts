// A bigram "language model" (logits = onehot(ids) E W) implementing Policy, for
// loss-wiring and leak tests that do not need a transformer.
import { afterAll, beforeAll } from 'vitest';
import {
  initBackend,
  logprobsFromLogits,
  type Policy,
  type TokenBatch,
  tf,
} from '../packages/core/src/index.js';

export class BigramPolicy implements Policy {
  private readonly params: Map<string, tf.Variable>;
  constructor(
    readonly vocab: number,
    hidden: number,
    seed: number,
  ) {
    this.params = new Map([
      [
        'embed',
        tf.variable(tf.randomNormal([vocab, hidden], 0, 1, 'float32', seed), true, `embed${seed}`),
      ],
      [
        'head',
        tf.variable(
          tf.randomNormal([hidden, vocab], 0, 1, 'float32', seed + 1),
          true,
          `head${seed}`,
        ),
      ],
    ]);
  }

  get vocabSize(): number {
    return this.vocab;
  }

  hiddenStates(batch: TokenBatch): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T] = batch.inputIds.shape;
      const embed = this.params.get('embed') as tf.Variable;
      const onehot = tf.oneHot(tf.reshape(batch.inputIds, [B * T]), this.vocab); // [B*T, V]
      return tf.reshape(tf.matMul(onehot, embed), [B, T, -1]) as tf.Tensor3D;
    });
  }

  headLogits(hidden: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(hidden, this.params.get('head') as tf.Variable);
  }

  forward(batch: TokenBatch): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, T] = batch.inputIds.shape;
      const h = tf.reshape(this.hiddenStates(batch), [B * T, -1]) as tf.Tensor2D;
      return tf.reshape(this.headLogits(h), [B, T, this.vocab]) as tf.Tensor3D;
    });
  }

  logprobsOf(batch: TokenBatch): tf.Tensor2D {
    return tf.tidy(() => logprobsFromLogits(this.forward(batch), batch.inputIds));
  }

  parameters(): Map<string, tf.Variable> {
    return this.params;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/** A toy policy and reference (vocab 11, hidden 6) created before and disposed after a test file's tests. */
export function toyModels(policySeed: number, referenceSeed: number) {
  const models = {} as { policy: BigramPolicy; reference: BigramPolicy };
  beforeAll(async () => {
    await initBackend();
    models.policy = new BigramPolicy(11, 6, policySeed);
    models.reference = new BigramPolicy(11, 6, referenceSeed);
  });
  afterAll(() => {
    models.policy?.dispose();
    models.reference?.dispose();
  });
  return models;
}
