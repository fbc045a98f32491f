// The gradient-free half of every REINFORCE-style step: policy and reference
// log-probabilities, per-step KL (sampled estimate and full-vocabulary), entropy.
// Everything comes back as plain [B, T-1] arrays, so what is built from them
// (returns, advantages) is constant in the loss.
import type { SequenceBatch } from '../algorithm.js';
import { disposeBatch, microBatches, sliceRows } from '../batches.js';
import { RemaxError } from '../errors.js';
import { nextTokenScores } from '../ops/index.js';
import { tf } from '../tf.js';
import type { Policy } from '../types.js';
import { type KLEstimator, sampledKL } from './kl.js';

export type KLPenalty = 'full_step' | 'sampled';

/**
 * Per-position numbers of one batch, all [B, T-1] (index t scores token t+1);
 * with `responseOnly` the prompt's columns (t < promptLength - 1) are 0.
 */
export interface SequenceScores {
  logprobs: number[][];
  refLogprobs: number[][];
  /** The penalty the returns use: full-vocabulary KL or the sampled estimate. */
  kl: number[][];
  /** Full-vocabulary KL(p || p_ref), always measured (a metric when the penalty is sampled). */
  fullKl: number[][];
  /** Policy entropy of the next-token distribution. */
  entropy: number[][];
  /** attention_mask[:, 1:] */
  actionMask: number[][];
}

/** Checks a batch's tensors and prompt length; returns [B, T]. */
export function checkSequenceBatch(batch: SequenceBatch, where: string): [number, number] {
  const { inputIds, attentionMask, promptLength } = batch;
  if (inputIds.rank !== 2 || inputIds.dtype !== 'int32') {
    throw new RemaxError('E_INPUT', `${where}: inputIds must be an int32 [B, T] tensor`, {
      field: 'inputIds',
      value: { shape: inputIds.shape, dtype: inputIds.dtype },
      expected: 'int32 [B, T]',
    });
  }
  const [B, T] = inputIds.shape as [number, number];
  if (
    attentionMask.dtype !== 'int32' ||
    attentionMask.shape[0] !== B ||
    attentionMask.shape[1] !== T
  ) {
    throw new RemaxError('E_SHAPE', `${where}: attentionMask must be int32 and match inputIds`, {
      field: 'attentionMask',
      value: { shape: attentionMask.shape, dtype: attentionMask.dtype },
      expected: `int32 [${B}, ${T}]`,
    });
  }
  if (!Number.isInteger(promptLength) || promptLength < 1 || promptLength >= T) {
    throw new RemaxError('E_INPUT', `${where}: promptLength must leave room for a response`, {
      field: 'promptLength',
      value: promptLength,
      expected: `an integer in [1, ${T - 1}]`,
    });
  }
  return [B, T];
}

/** Scores a batch with the policy and the frozen reference (no gradient is needed from this). */
export function scoreSequences(
  policy: Policy,
  reference: Policy,
  batch: SequenceBatch,
  options: {
    klPenalty: KLPenalty;
    klEstimator: KLEstimator;
    /** Called while the scoring's largest tensors are alive (memory high-water mark). */
    onPeak?: () => void;
    /**
     * Score only the response's columns (t >= promptLength - 1), the prompt's
     * are 0: all an RL step reads, and the heads skip the prompt (default:
     * every column, as remaxLoss reports them).
     */
    responseOnly?: boolean;
  },
): SequenceScores {
  const [B, T] = checkSequenceBatch(batch, 'scoreSequences');
  const tokens = { inputIds: batch.inputIds, attentionMask: batch.attentionMask };
  // the heads run in row chunks: no [B, T, V] logits are held (the old peak)
  const { logprobs, refLogprobs, fullKl, entropy } = nextTokenScores(policy, reference, tokens, {
    ...(options.onPeak && { onPeak: options.onPeak }),
    ...(options.responseOnly && { fromColumn: batch.promptLength - 1 }),
  });
  const actionMask = tf.tidy(
    () => tf.slice(batch.attentionMask, [0, 1], [B, T - 1]).arraySync() as number[][],
  );
  const kl =
    options.klPenalty === 'full_step'
      ? fullKl
      : sampledKL(logprobs, refLogprobs, options.klEstimator);
  return { logprobs, refLogprobs, kl, fullKl, entropy, actionMask };
}

/** `scoreSequences` over row micro-batches of `microBatchSize`, rows concatenated. */
export function scoreInMicroBatches(
  policy: Policy,
  reference: Policy,
  batch: SequenceBatch,
  options: {
    microBatchSize: number;
    klPenalty: KLPenalty;
    klEstimator: KLEstimator;
    onPeak?: () => void;
    responseOnly?: boolean;
  },
): SequenceScores {
  const { microBatchSize, ...scoring } = options;
  const parts: SequenceScores[] = [];
  for (const [s, e] of microBatches(batch.inputIds.shape[0], microBatchSize)) {
    const part = sliceRows(batch, s, e);
    try {
      parts.push(scoreSequences(policy, reference, part, scoring));
    } finally {
      disposeBatch(part);
    }
  }
  const cat = (k: keyof SequenceScores) => parts.flatMap((p) => p[k]);
  return {
    logprobs: cat('logprobs'),
    refLogprobs: cat('refLogprobs'),
    kl: cat('kl'),
    fullKl: cat('fullKl'),
    entropy: cat('entropy'),
    actionMask: cat('actionMask'),
  };
}
