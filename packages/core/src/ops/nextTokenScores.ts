import { allocateHost, hostView } from '../kernels/hostMemory.js';
import { scratchRow } from '../kernels/hostSoftmax.js';
import { scoreRow } from '../kernels/scoreRows.js';
import { tf } from '../tf.js';
import type { Policy, TokenBatch } from '../types.js';
import { type ChunkOptions, rowChunks } from './chunking.js';
import { firstScoredColumn } from './targets.js';

/** Per-position scores of a batch, each [B, T-1] (index t scores token t+1). */
export interface NextTokenScores {
  /** log p(ids[t+1] | ids[..t]) under the policy. */
  logprobs: number[][];
  /** The same under the reference. */
  refLogprobs: number[][];
  /** Full-vocabulary KL(p || p_ref) of the next-token distributions. */
  fullKl: number[][];
  /** Entropy of the policy's next-token distribution. */
  entropy: number[][];
}

/**
 * Policy and reference scores of one batch with no gradient, without holding
 * [B, T, V] logits: both models run their decoders once, then their LM heads
 * run over row chunks of at most `maxChunkElements` logits each, and every
 * statistic is read off the chunk before the next one is made. (Scoring
 * with two full [B, T, V] logits alive was the peak of a ReMax step.)
 */
export function nextTokenScores(
  policy: Policy,
  reference: Policy,
  batch: TokenBatch,
  options: ChunkOptions & {
    /** Called while a chunk's logits of both models are alive (a memory watermark sample). */
    onPeak?: () => void;
    /** Score only columns t >= fromColumn (default 0); earlier ones are 0 and cost no head pass. */
    fromColumn?: number;
  } = {},
): NextTokenScores {
  const [B, T] = batch.inputIds.shape as [number, number];
  const N = B * T;
  const ids = batch.inputIds.dataSync();
  const from = firstScoredColumn(options.fromColumn, T, 'nextTokenScores');
  // the rows the heads run on: columns [from, T-1) of every sequence (the last has no next token)
  const scored = new Int32Array(B * (T - 1 - from));
  for (let b = 0, m = 0; b < B; b++) for (let t = from; t < T - 1; t++) scored[m++] = b * T + t;
  const out = {
    logprobs: new Float32Array(N),
    refLogprobs: new Float32Array(N),
    fullKl: new Float32Array(N),
    entropy: new Float32Array(N),
  };
  const [hP, hR] = tf.tidy(() => {
    const rows = tf.tensor1d(scored, 'int32');
    return [
      tf.gather(reshapeRows(policy.hiddenStates(batch)), rows),
      tf.gather(reshapeRows(reference.hiddenStates(batch)), rows),
    ];
  }) as [tf.Tensor2D, tf.Tensor2D];
  try {
    const V = policy.vocabSize;
    // float64 exps of one row, in host memory where the wasm kernels write them
    const holder = allocateHost([2 * V + 1]);
    try {
      for (const [s, e] of rowChunks(scored.length, V, options.maxChunkElements)) {
        const [p, q] = tf.tidy(() => [
          policy.headLogits(tf.slice(hP, [s, 0], [e - s, hP.shape[1]])),
          reference.headLogits(tf.slice(hR, [s, 0], [e - s, hR.shape[1]])),
        ]) as [tf.Tensor2D, tf.Tensor2D];
        try {
          options.onPeak?.();
          const x = hostView(p) ?? (p.dataSync() as Float32Array);
          const y = hostView(q) ?? (q.dataSync() as Float32Array);
          const scratch = scratchRow(hostView(holder), V);
          for (let r = 0; r < e - s; r++) {
            const n = scored[s + r] as number;
            scoreRow(x, y, r * V, V, ids[n + 1] as number, n, out, scratch);
          }
        } finally {
          tf.dispose([p, q]);
        }
      }
    } finally {
      holder.dispose();
    }
  } finally {
    tf.dispose([hP, hR]);
  }
  const rows = (a: Float32Array) =>
    Array.from({ length: B }, (_, b) => Array.from(a.subarray(b * T, b * T + T - 1)));
  return {
    logprobs: rows(out.logprobs),
    refLogprobs: rows(out.refLogprobs),
    fullKl: rows(out.fullKl),
    entropy: rows(out.entropy),
  };
}

function reshapeRows(h: tf.Tensor3D): tf.Tensor2D {
  const [B, T, H] = h.shape;
  return tf.reshape(h, [B * T, H]) as tf.Tensor2D;
}
