// The fused LM-head ops: logprobsFromHidden (training) and nextTokenScores
// (scoring) against the textbook formulas on full [N, V] logits, and the
// memory they exist to save.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  initBackend,
  logprobsFromHidden,
  NO_TARGET,
  nextTokenScores,
  type Policy,
  Rng,
  type TokenBatch,
  tf,
} from '../src/index.js';

function randn(rng: Rng, shape: [number, number], scale = 1): tf.Tensor2D {
  const data = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < data.length; i++) data[i] = rng.nextNormal() * scale;
  return tf.tensor2d(data, shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

/** log_softmax(h · Wᵀ)[target] on the full logits, 0 where there is no target. */
function naive(h: tf.Tensor2D, w: tf.Tensor2D, targets: Int32Array): tf.Tensor1D {
  const V = w.shape[0];
  const lsm = tf.logSoftmax(tf.matMul(h, w, false, true));
  const hot = tf.oneHot(
    tf.tensor1d(
      Int32Array.from(targets, (t) => Math.max(t, 0)),
      'int32',
    ),
    V,
  );
  const has = tf.tensor1d(Float32Array.from(targets, (t) => (t === NO_TARGET ? 0 : 1)));
  return tf.mul(tf.sum(tf.mul(lsm, tf.cast(hot, 'float32')), 1), has) as tf.Tensor1D;
}

function targetsFor(N: number, V: number, rng: Rng): Int32Array {
  // every 5th position has no target (a row's last position in a batch)
  return Int32Array.from({ length: N }, (_, n) => (n % 5 === 4 ? NO_TARGET : rng.nextUint32() % V));
}

describe('logprobsFromHidden', () => {
  beforeAll(async () => {
    await initBackend();
  });

  for (const [mode, tensorOps, keepProbabilities] of [
    ['host loops, kept probabilities', false, undefined],
    ['host loops, recomputed logits', false, 0],
    ['tensor ops', true, undefined],
  ] as const) {
    it(`equals log_softmax(h Wᵀ)[target] in value and gradient, over many chunks (${mode})`, () => {
      const rng = Rng.fromSeed(3);
      const [N, H, V] = [37, 16, 300];
      const targets = targetsFor(N, V, rng);
      tf.tidy(() => {
        const h = randn(rng, [N, H]);
        const w = randn(rng, [V, H], 0.5);
        const dy = randn(rng, [1, N]).reshape([N]);
        const head = (wIn: tf.Tensor2D) => ({
          weight: wIn,
          weightT: tf.transpose(wIn) as tf.Tensor2D,
        });
        // 3 rows per chunk: 13 chunks, the last one short
        const opts = {
          maxChunkElements: 3 * V,
          tensorOps,
          ...(keepProbabilities !== undefined && { keepProbabilities }),
        };
        const fused = (hIn: tf.Tensor, wIn: tf.Tensor) =>
          tf.sum(
            tf.mul(
              logprobsFromHidden(hIn as tf.Tensor2D, head(wIn as tf.Tensor2D), targets, opts),
              dy,
            ),
          );
        const plain = (hIn: tf.Tensor, wIn: tf.Tensor) =>
          tf.sum(tf.mul(naive(hIn as tf.Tensor2D, wIn as tf.Tensor2D, targets), dy));
        expect(
          maxAbsDiff(logprobsFromHidden(h, head(w), targets, opts), naive(h, w, targets)),
        ).toBeLessThan(1e-5);
        const g1 = tf.grads(fused)([h, w]);
        const g2 = tf.grads(plain)([h, w]);
        expect(maxAbsDiff(g1[0] as tf.Tensor, g2[0] as tf.Tensor)).toBeLessThan(1e-5);
        expect(maxAbsDiff(g1[1] as tf.Tensor, g2[1] as tf.Tensor)).toBeLessThan(1e-5);
        expect(g1[1]?.shape).toEqual([V, H]); // HF layout
      });
    });
  }

  it('a frozen head (LoRA base) gives the same values and hidden gradient, and no weight gradient', () => {
    const rng = Rng.fromSeed(5);
    const [N, H, V] = [11, 8, 50];
    const targets = targetsFor(N, V, rng);
    tf.tidy(() => {
      const h = randn(rng, [N, H]);
      const w = randn(rng, [V, H], 0.5);
      const wT = tf.transpose(w) as tf.Tensor2D;
      const opts = { maxChunkElements: 4 * V, keepProbabilities: 0 }; // both paths recompute
      const frozen = (hIn: tf.Tensor) =>
        tf.sum(
          logprobsFromHidden(
            hIn as tf.Tensor2D,
            { weight: w, weightT: wT, frozen: true },
            targets,
            opts,
          ),
        );
      const plain = (hIn: tf.Tensor) =>
        tf.sum(logprobsFromHidden(hIn as tf.Tensor2D, { weight: w, weightT: wT }, targets, opts));
      expect(maxAbsDiff(frozen(h), plain(h))).toBe(0);
      const [gf] = tf.grads(frozen)([h]);
      const [gp] = tf.grads(plain)([h]);
      expect(maxAbsDiff(gf as tf.Tensor, gp as tf.Tensor)).toBe(0);
      // the weight is not an input of the frozen op: asking for its gradient fails
      expect(() =>
        tf.grads((wIn: tf.Tensor) =>
          tf.sum(
            logprobsFromHidden(
              h,
              { weight: wIn as tf.Tensor2D, weightT: wT, frozen: true },
              targets,
              opts,
            ),
          ),
        )([w]),
      ).toThrow();
    });
  });

  it('never holds the [N, V] logits: forward + backward peak stays under half of one logits tensor', async () => {
    const rng = Rng.fromSeed(4);
    const [N, H, V] = [1024, 16, 4000]; // logits 16 MB; the head and its gradient 256 KB each
    const targets = targetsFor(N, V, rng);
    const h = randn(rng, [N, H]);
    const w = randn(rng, [V, H], 0.3);
    const wT = tf.transpose(w) as tf.Tensor2D;
    const logitsBytes = N * V * 4;
    try {
      const before = tf.memory().numTensors;
      const base = tf.memory().numBytes;
      // peakBytes read at once: tf.profile reuses one result object across calls
      const fusedPeak = (
        await tf.profile(() => {
          tf.dispose(
            tf.grads((hIn: tf.Tensor, wIn: tf.Tensor) =>
              tf.sum(
                logprobsFromHidden(
                  hIn as tf.Tensor2D,
                  { weight: wIn as tf.Tensor2D, weightT: wT },
                  targets,
                  {
                    maxChunkElements: 16 * V,
                    keepProbabilities: 0, // the recompute path: what bounds a large batch
                  },
                ),
              ),
            )([h, w]),
          );
        })
      ).peakBytes;
      const plainPeak = (
        await tf.profile(() => {
          tf.dispose(
            tf.grads((hIn: tf.Tensor, wIn: tf.Tensor) =>
              tf.sum(naive(hIn as tf.Tensor2D, wIn as tf.Tensor2D, targets)),
            )([h, w]),
          );
        })
      ).peakBytes;
      expect(tf.memory().numTensors).toBe(before); // no leaks
      expect(fusedPeak - base).toBeLessThan(logitsBytes / 2);
      expect(plainPeak - base).toBeGreaterThan(2 * logitsBytes); // what the test guards against
    } finally {
      tf.dispose([h, w, wT]);
    }
  });

  it('rejects a head of the wrong width and out-of-vocabulary targets with typed errors', () => {
    const h = tf.zeros([2, 4]) as tf.Tensor2D;
    const w = tf.zeros([10, 3]) as tf.Tensor2D;
    const wOk = tf.zeros([10, 4]) as tf.Tensor2D;
    try {
      expect(() =>
        logprobsFromHidden(h, { weight: w, weightT: tf.transpose(w) }, new Int32Array(2)),
      ).toThrow(/head does not match/);
      expect(() =>
        logprobsFromHidden(
          h,
          { weight: wOk, weightT: tf.transpose(wOk) },
          Int32Array.from([1, 10]),
        ),
      ).toThrow(/outside the vocabulary/);
      expect(() =>
        logprobsFromHidden(h, { weight: wOk, weightT: tf.transpose(wOk) }, Int32Array.from([1])),
      ).toThrow(/one target per hidden row/);
    } finally {
      tf.dispose([h, w, wOk]);
    }
  });
});

/** A one-layer "model": hidden = embed[ids], logits = hidden · Wᵀ. */
class LinearPolicy implements Policy {
  constructor(
    private readonly embed: tf.Tensor2D,
    private readonly head: tf.Tensor2D,
  ) {}
  get vocabSize() {
    return this.head.shape[0];
  }
  hiddenStates(batch: TokenBatch): tf.Tensor3D {
    const [B, T] = batch.inputIds.shape;
    return tf.tidy(() =>
      tf.reshape(tf.gather(this.embed, tf.reshape(batch.inputIds, [B * T])), [B, T, -1]),
    );
  }
  headLogits(hidden: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(hidden, this.head, false, true);
  }
  forward(batch: TokenBatch): tf.Tensor3D {
    const [B, T] = batch.inputIds.shape;
    return tf.tidy(() =>
      tf.reshape(this.headLogits(tf.reshape(this.hiddenStates(batch), [B * T, -1])), [B, T, -1]),
    );
  }
  logprobsOf(): tf.Tensor2D {
    throw new Error('not used');
  }
  parameters() {
    return new Map<string, tf.Variable>();
  }
}

describe('nextTokenScores', () => {
  it('logprobs, reference logprobs, full KL and entropy equal the full-logits formulas', () => {
    const rng = Rng.fromSeed(5);
    const [B, T, H, V] = [3, 7, 8, 50];
    const ids = Array.from({ length: B }, () =>
      Array.from({ length: T }, () => rng.nextUint32() % V),
    );
    tf.tidy(() => {
      const p = new LinearPolicy(randn(rng, [V, H]), randn(rng, [V, H], 0.5));
      const q = new LinearPolicy(randn(rng, [V, H]), randn(rng, [V, H], 0.5));
      const batch = {
        inputIds: tf.tensor2d(ids, undefined, 'int32'),
        attentionMask: tf.ones([B, T], 'int32') as tf.Tensor2D,
      };
      let peaks = 0;
      const got = nextTokenScores(p, q, batch, { maxChunkElements: 2 * V, onPeak: () => peaks++ });
      expect(peaks).toBe(Math.ceil((B * (T - 1)) / 2)); // one call per chunk of 2 scored rows
      const a = tf.logSoftmax(p.forward(batch));
      const b = tf.logSoftmax(q.forward(batch));
      const first = (x: tf.Tensor) => tf.slice(x, [0, 0], [B, T - 1]);
      const hot = tf.cast(tf.oneHot(tf.slice(batch.inputIds, [0, 1], [B, T - 1]), V), 'float32');
      const want = {
        logprobs: tf.sum(tf.mul(tf.slice(a, [0, 0, 0], [B, T - 1, V]), hot), 2),
        refLogprobs: tf.sum(tf.mul(tf.slice(b, [0, 0, 0], [B, T - 1, V]), hot), 2),
        fullKl: first(tf.sum(tf.mul(tf.exp(a), tf.sub(a, b)), 2)),
        entropy: first(tf.neg(tf.sum(tf.mul(tf.exp(a), a), 2))),
      };
      for (const k of ['logprobs', 'refLogprobs', 'fullKl', 'entropy'] as const) {
        expect(maxAbsDiff(tf.tensor2d(got[k]), want[k]), k).toBeLessThan(1e-5);
      }
      // fromColumn: the same numbers from that column on, 0 before it, no head pass there
      peaks = 0;
      const from = 4;
      const part = nextTokenScores(p, q, batch, {
        maxChunkElements: V,
        fromColumn: from,
        onPeak: () => peaks++,
      });
      expect(peaks).toBe(B * (T - 1 - from));
      for (const k of ['logprobs', 'refLogprobs', 'fullKl', 'entropy'] as const) {
        part[k].forEach((row, b) => {
          row.forEach((v, t) => {
            if (t < from) expect(v).toBe(0);
            else expect(v).toBe(got[k][b]?.[t]);
          });
        });
      }
      expect(() => nextTokenScores(p, q, batch, { fromColumn: T })).toThrow(/fromColumn/);
    });
  });
});
