import { RemaxError, tf } from '@remax/core';

/** Public view of a KV cache (see CausalLM.createKVCache). */
export interface KVCache {
  /** Tokens seen so far (past length), including any the sliding window dropped. */
  readonly length: number;
  /** A new cache holding the given batch rows (repeats allowed), e.g. [0..B-1, 0..B-1]. */
  gatherRows(rows: number[]): KVCache;
  dispose(): void;
}

/** One layer's cached keys and values, in the layouts attention multiplies with. */
export interface LayerKV {
  kT: tf.Tensor3D; // [B*nKV, hD, S]
  v: tf.Tensor3D; // [B*nKV, S, hD]
}

/**
 * Keys/values of every layer for incremental decoding. With a sliding window
 * the cache is rolling: it keeps only the last `window - 1` positions, all a
 * future query can see (key j is visible to query i iff i - j < window).
 */
export class MistralKVCache implements KVCache {
  private layersKV: LayerKV[] | null = null;
  private seen = 0;
  private disposed = false;

  constructor(
    readonly batchSize: number,
    readonly maxLength: number,
    readonly kvHeads: number,
    /** Most positions worth keeping (Infinity without a sliding window). */
    readonly keep: number,
    readonly owner: object,
  ) {}

  get length(): number {
    return this.seen;
  }

  /** Positions currently stored (<= length). */
  get stored(): number {
    return this.layersKV?.[0]?.v.shape[1] ?? 0;
  }

  /** Absolute index of the first stored position. */
  get start(): number {
    return this.seen - this.stored;
  }

  layer(i: number): LayerKV | null {
    this.assertAlive();
    return this.layersKV?.[i] ?? null;
  }

  /** Replaces the cached tensors (taking ownership) after a step of `added` tokens. */
  commit(next: LayerKV[], added: number): void {
    this.assertAlive();
    const old = this.layersKV;
    this.layersKV = next.map((l) => {
      const S = l.v.shape[1];
      if (S <= this.keep) return l;
      const trimmed = tf.tidy(() => {
        const [g, d] = [l.v.shape[0], l.v.shape[2]];
        const drop = S - this.keep;
        // kept: commit() may run inside a caller's tf.tidy, and the cache outlives it
        return {
          kT: tf.keep(tf.slice(l.kT, [0, 0, drop], [g, d, this.keep])) as tf.Tensor3D,
          v: tf.keep(tf.slice(l.v, [0, drop, 0], [g, this.keep, d])) as tf.Tensor3D,
        };
      });
      tf.dispose([l.kT, l.v]);
      return trimmed;
    });
    this.seen += added;
    if (old) for (const l of old) tf.dispose([l.kT, l.v]);
  }

  gatherRows(rows: number[]): KVCache {
    this.assertAlive();
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.batchSize) {
        throw new RemaxError('E_INPUT', 'KVCache.gatherRows: row out of range', {
          field: 'rows',
          value: r,
          expected: `an integer in [0, ${this.batchSize})`,
        });
      }
    }
    const out = new MistralKVCache(
      rows.length,
      this.maxLength,
      this.kvHeads,
      this.keep,
      this.owner,
    );
    if (this.layersKV) {
      const index: number[] = [];
      for (const r of rows) for (let g = 0; g < this.kvHeads; g++) index.push(r * this.kvHeads + g);
      out.layersKV = tf.tidy(() => {
        const idx = tf.tensor1d(index, 'int32');
        return (this.layersKV as LayerKV[]).map((l) => ({
          kT: tf.keep(tf.gather(l.kT, idx)) as tf.Tensor3D,
          v: tf.keep(tf.gather(l.v, idx)) as tf.Tensor3D,
        }));
      });
    }
    out.seen = this.seen;
    return out;
  }

  dispose(): void {
    if (this.layersKV) for (const l of this.layersKV) tf.dispose([l.kT, l.v]);
    this.layersKV = null;
    this.disposed = true;
  }

  private assertAlive(): void {
    if (this.disposed) throw new RemaxError('E_STATE', 'KV cache used after dispose()');
  }
}
