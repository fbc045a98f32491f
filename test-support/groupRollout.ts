// A fixed k-samples-per-prompt rollout for the step tests of group algorithms
// (RLOO, REINFORCE++): 2 prompts x 4 samples over a vocabulary of 11, prompt
// width 3, EOS = 2; one row truncated, one EOS alone, one left-padded prompt.
import {
  type GenerateFn,
  type Policy,
  type RewardFn,
  type ScoredBatch,
  type SequenceBatch,
  type TokenBatch,
  tf,
} from '../packages/core/src/index.js';

export const P = 3;
export const K = 4;
export const ROWS = [
  [0, 1, 4, 5, 6, 7, 2, 0],
  [0, 1, 4, 8, 8, 2, 0, 0],
  [0, 1, 4, 2, 0, 0, 0, 0],
  [0, 1, 4, 9, 10, 8, 3, 3],
  [1, 3, 3, 9, 10, 2, 0, 0],
  [1, 3, 3, 8, 8, 8, 8, 8],
  [1, 3, 3, 5, 2, 0, 0, 0],
  [1, 3, 3, 6, 8, 7, 2, 0],
];

/** Prompt pads (leading 0 in the prompt block) and everything after the first EOS are masked. */
export const maskOf = (rows: number[][]) =>
  rows.map((row) => {
    const firstReal = row[0] === 0 ? 1 : 0;
    const eos = row.indexOf(2, P);
    return row.map((_, t) => (t < firstReal ? 0 : eos >= 0 && t > eos ? 0 : 1));
  });

const lengthsOf = (mask: number[][]) => mask.map((row) => row.slice(P).reduce((a, b) => a + b, 0));

/** The rollout's rows as a batch (tensors the caller disposes). */
export const fixedBatch = (): SequenceBatch => ({
  inputIds: tf.tensor2d(ROWS, undefined, 'int32'),
  attentionMask: tf.tensor2d(maskOf(ROWS), undefined, 'int32'),
  promptLength: P,
});

/** The two prompts, left-padded (tensors the caller disposes). */
export const fixedPrompts = (): TokenBatch => ({
  inputIds: tf.tensor2d([ROWS[0]?.slice(0, P) ?? [], ROWS[K]?.slice(0, P) ?? []], [2, P], 'int32'),
  attentionMask: tf.tensor2d(
    [maskOf(ROWS)[0]?.slice(0, P) ?? [], maskOf(ROWS)[K]?.slice(0, P) ?? []],
    [2, P],
    'int32',
  ),
});

/** Always the same K samples per prompt; records the requests it got. */
export function fixedGenerate(requests: unknown[] = []): GenerateFn {
  return async (prompts, request) => {
    requests.push(request);
    if (prompts.inputIds.shape[0] * request.samplesPerPrompt !== ROWS.length) {
      throw new Error(`fixedGenerate serves ${ROWS.length / K} prompts x ${K} samples`);
    }
    return { sampled: { ...fixedBatch(), responseLengths: lengthsOf(maskOf(ROWS)) } };
  };
}

/** Reward: the fraction of 8s in the response, so rows (and groups) differ. */
export const countEights: RewardFn = async (batch) =>
  Float32Array.from(
    (await batch.inputIds.array()) as number[][],
    (row) => row.slice(P).filter((t) => t === 8).length / 5,
  );

/**
 * The fixed rows as a ScoredBatch whose old log-probabilities are the policy's
 * plus uniform noise in [-noise, noise] (off-policy, so ratio clips engage),
 * with the reference's log-probabilities given. Tensors: the caller disposes.
 */
export async function offPolicyBatch(
  policy: Policy,
  reference: Policy,
  noise: number,
  seed: number,
): Promise<ScoredBatch> {
  const batch = fixedBatch();
  const [oldLogprobs, refLogprobs] = tf.tidy(() => {
    const lp = policy.logprobsOf(batch);
    const shifted = tf.add(lp, tf.randomUniform(lp.shape, -noise, noise, 'float32', seed));
    return [shifted.arraySync(), reference.logprobsOf(batch).arraySync()];
  }) as [number[][], number[][]];
  return { ...batch, scores: await countEights(batch), groupSize: K, oldLogprobs, refLogprobs };
}
