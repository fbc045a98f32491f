// TEST DOUBLE, not a language model: a tiny deterministic "model" whose next
// logits are a JS function of (previous token, position), to drive the
// control flow of `generate` (EOS, padding, early stop, pairs layout) where
// the exact token sequence must be forced. Real-model tests are in
// generate.tinyMistral.test.ts.

import { tf } from '@remax/core';
import type { DecodingCache, DecodingModel } from '../src/model.js';

export class FakeCache implements DecodingCache {
  disposed = false;
  constructor(
    readonly batchSize: number,
    public length: number,
    readonly log: string[],
  ) {}
  gatherRows(rows: number[]): DecodingCache {
    this.log.push(`gather ${rows.join(',')}`);
    return new FakeCache(rows.length, this.length, this.log);
  }
  dispose(): void {
    this.disposed = true;
  }
}

/**
 * Logits over `vocab` tokens: the token `script(prev, position)` gets logit
 * 10, everything else 0 (so greedy follows the script and sampling at low
 * temperature does too); position = number of mask ones so far - 1.
 */
export class ScriptedFakeModel implements DecodingModel {
  readonly log: string[] = [];
  readonly caches: FakeCache[] = [];
  constructor(
    readonly vocab: number,
    readonly script: (prev: number, position: number) => number,
  ) {}

  createKVCache(batchSize: number, _maxLength: number): DecodingCache {
    const cache = new FakeCache(batchSize, 0, this.log);
    this.caches.push(cache);
    return cache;
  }

  forward(args: {
    inputIds: tf.Tensor2D;
    attentionMask: tf.Tensor2D;
    kvCache?: DecodingCache;
    lastOnly?: boolean;
  }): tf.Tensor3D {
    const [B, T] = args.inputIds.shape;
    const L = args.attentionMask.shape[1];
    const ids = args.inputIds.arraySync();
    const mask = args.attentionMask.arraySync();
    this.log.push(`forward ${B}x${T} mask ${L}${args.kvCache ? ' cached' : ''}`);
    if (args.kvCache) (args.kvCache as FakeCache).length += T;
    const logits = new Float32Array(B * this.vocab);
    for (let b = 0; b < B; b++) {
      const prev = ids[b]?.[T - 1] as number;
      const position = (mask[b] as number[]).reduce((a, m) => a + m, 0) - 1;
      logits[b * this.vocab + this.script(prev, position)] = 10;
    }
    return tf.tensor3d(logits, [B, 1, this.vocab]);
  }
}
