// An experience owns its rollout's sampled rows: they become its batch, or are
// freed when making the experience fails. The sampling log-probabilities are
// never kept (the rows are scored again).
import type { RolloutSequences, SequenceBatch } from './algorithm.js';
import { disposeBatch } from './batches.js';

/**
 * `build(batch)` with the sampled rows as a SequenceBatch (the experience
 * takes them over and frees them in its dispose). If `build` throws, the rows
 * are freed; `sampled.logprobs` is freed either way.
 */
export async function experienceFromSampled<T>(
  sampled: RolloutSequences,
  build: (batch: SequenceBatch) => Promise<T>,
): Promise<T> {
  try {
    return await build({
      inputIds: sampled.inputIds,
      attentionMask: sampled.attentionMask,
      promptLength: sampled.promptLength,
    });
  } catch (e) {
    disposeBatch(sampled);
    throw e;
  } finally {
    sampled.logprobs?.dispose();
  }
}
