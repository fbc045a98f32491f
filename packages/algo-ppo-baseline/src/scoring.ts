// Everything PPO's losses need from the models that carries no gradient:
// behaviour and reference log-probs and the critic's old values, per micro-batch.
import {
  disposeBatch,
  microBatches,
  type Policy,
  type SequenceBatch,
  sliceRows,
  tf,
  type ValueModel,
} from '@remax/core';

export interface PpoScores {
  /** Policy log-probs [B, T-1] at rollout time (the "old" policy); 0 on the prompt's columns (t < P - 1). */
  logprobs: number[][];
  /** The reference's, likewise. */
  refLogprobs: number[][];
  /** Critic values aligned with the log-prob columns: values[:, :-1], [B, T-1]. */
  values: number[][];
  /** attention_mask[:, 1:] [B, T-1]. */
  actionMask: number[][];
}

export function scoreForPpo(
  policy: Policy,
  reference: Policy,
  critic: ValueModel,
  batch: SequenceBatch,
  microBatchSize: number,
  onPeak: () => void,
): PpoScores {
  const out: PpoScores = { logprobs: [], refLogprobs: [], values: [], actionMask: [] };
  for (const [s, e] of microBatches(batch.inputIds.shape[0], microBatchSize)) {
    const part = sliceRows(batch, s, e);
    try {
      const [lp, ref, values, mask] = tf.tidy(() => {
        const T = part.inputIds.shape[1];
        const rows = e - s;
        const v = critic.values(part);
        onPeak();
        // PPO reads columns >= P - 1 only: the LM heads skip the prompt
        const response = { fromColumn: part.promptLength - 1 };
        return [
          policy.logprobsOf(part, response),
          reference.logprobsOf(part, response),
          tf.slice(v, [0, 0], [rows, T - 1]),
          tf.slice(part.attentionMask, [0, 1], [rows, T - 1]),
        ];
      });
      try {
        out.logprobs.push(...(lp.arraySync() as number[][]));
        out.refLogprobs.push(...(ref.arraySync() as number[][]));
        out.values.push(...(values.arraySync() as number[][]));
        out.actionMask.push(...(mask.arraySync() as number[][]));
      } finally {
        tf.dispose([lp, ref, values, mask]);
      }
    } finally {
      disposeBatch(part);
    }
  }
  return out;
}
