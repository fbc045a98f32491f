// The plumbing of a critic-free group algorithm's step (RLOO, REINFORCE++):
// k samples per prompt -> rewards -> scores without gradient, and the
// micro-batched loss + one guarded update. Each algorithm keeps only its math
// (its loss over a ScoredBatch) and its own metrics.
import type {
  AlgorithmContext,
  Experience,
  RolloutSequences,
  SequenceBatch,
  StepMetrics,
} from '../algorithm.js';
import { disposeBatch } from '../batches.js';
import { RemaxError } from '../errors.js';
import { accumulateMicroBatches } from '../microBatchTraining.js';
import { experienceFromSampled } from '../sampledRows.js';
import {
  PhaseClock,
  TensorBytesWatermark,
  trainPhaseMetrics,
  updateMetrics,
} from '../stepMetrics.js';
import type { tf } from '../tf.js';
import type { TokenBatch } from '../types.js';
import type { ParameterUpdater, UpdateResult } from '../updater.js';
import { experienceMetrics } from './experienceMetrics.js';
import type { KLEstimator } from './kl.js';
import type { ScoredBatch } from './scoredBatch.js';
import { type KLPenalty, type SequenceScores, scoreInMicroBatches } from './scoring.js';

/** k sampled responses per prompt, scored: what a group algorithm's loss needs from a rollout. */
export interface GroupExperience extends Experience {
  /** The sampled sequences [N, P + R], row i * groupSize + j = sample j of prompt i (owned). */
  readonly batch: SequenceBatch;
  /** Reward-model score of each row. */
  readonly scores: Float32Array;
  readonly groupSize: number;
  /** Policy (the update's old policy) and reference scores of every row, no gradient. */
  readonly scored: SequenceScores;
}

/**
 * Steps 1-3 of a group algorithm's makeExperience: rollout of `samplesPerPrompt`
 * samples per prompt (no greedy rows), rewards, micro-batched scoring, and the
 * shared experience metrics. The caller adds its own metrics; `dispose` frees the batch.
 */
export async function sampleScoredGroups(
  ctx: AlgorithmContext,
  prompts: TokenBatch,
  options: {
    samplesPerPrompt: number;
    microBatchSize: number;
    klPenalty: KLPenalty;
    klEstimator: KLEstimator;
  },
): Promise<GroupExperience> {
  const clock = new PhaseClock();
  const memory = new TensorBytesWatermark();
  const seed = ctx.rng.nextUint32();
  const { sampled, greedy } = await clock.time('rollout', () =>
    ctx.generate(prompts, { samplesPerPrompt: options.samplesPerPrompt, greedy: false, seed }),
  );
  memory.sample();
  return experienceFromSampled(sampled, async (batch) => {
    if (greedy) disposeRollout(greedy); // not asked for; never kept
    const expected = prompts.inputIds.shape[0] * options.samplesPerPrompt;
    if (sampled.inputIds.shape[0] !== expected) {
      throw new RemaxError('E_STATE', 'generate returned the wrong number of sampled rows', {
        field: 'rollout.sampled.inputIds',
        value: sampled.inputIds.shape,
        expected: `${expected} rows (prompts x samplesPerPrompt)`,
      });
    }
    const scores = await clock.time('reward', () => ctx.reward(sampled));
    if (scores.length !== expected) {
      throw new RemaxError('E_INPUT', 'reward function returned the wrong number of rewards', {
        field: 'context.reward',
        value: scores.length,
        expected: `${expected} (one per sampled row)`,
      });
    }
    const scored = clock.timeSync('score', () =>
      scoreInMicroBatches(ctx.policy, ctx.reference, sampled, {
        microBatchSize: options.microBatchSize,
        klPenalty: options.klPenalty,
        klEstimator: options.klEstimator,
        onPeak: () => memory.sample(),
      }),
    );
    const metrics = experienceMetrics({
      reward: scores,
      sampled,
      scores: scored,
      clock,
      memory,
      generatedTokens: sampled.responseLengths.reduce((a, b) => a + b, 0),
    });
    return {
      numSequences: expected,
      metrics,
      batch,
      scores,
      groupSize: options.samplesPerPrompt,
      scored,
      dispose: () => disposeBatch(batch),
    };
  });
}

/** The experience as the input of its algorithm's loss, restricted to rows [s, e). */
export function experienceRows(experience: GroupExperience, s: number, e: number): ScoredBatch {
  return {
    ...experience.batch,
    scores: experience.scores,
    groupSize: experience.groupSize,
    oldLogprobs: experience.scored.logprobs,
    refLogprobs: experience.scored.refLogprobs,
    rows: [s, e],
  };
}

/**
 * Steps 4-5 of a group algorithm's trainStep, `updates` times (GRPO's
 * numIterations; the ratio departs from 1 after the first): `lossOfRows(s, e)`
 * per row micro-batch (each already its share of the full-batch loss, so the
 * gradients add up to the full-batch gradient), then clip + AdamW through
 * `updater` (a non-finite loss or gradient skips the update). Returns the last
 * update and the step's metrics.
 */
export function trainInMicroBatches(
  updater: ParameterUpdater,
  experience: GroupExperience,
  microBatchSize: number,
  lossOfRows: (s: number, e: number) => tf.Scalar,
  updates = 1,
): { update: UpdateResult; metrics: StepMetrics } {
  const clock = new PhaseClock();
  const memory = new TensorBytesWatermark();
  const [rows, width] = experience.batch.inputIds.shape;
  let update: UpdateResult | undefined;
  for (let i = 0; i < updates; i++) {
    clock.timeSync('train', () =>
      accumulateMicroBatches(updater, rows, microBatchSize, memory, lossOfRows),
    );
    update = clock.timeSync('update', () => updater.step());
  }
  if (update === undefined) {
    throw new RemaxError('E_CONFIG', 'a train step needs at least one update', {
      field: 'updates',
      value: updates,
      expected: 'a positive integer',
    });
  }
  return {
    update,
    metrics: {
      step: update.step,
      loss: update.loss,
      ...experience.metrics,
      ...updateMetrics(update),
      ...trainPhaseMetrics(clock, memory, experience.metrics, updates * rows * width),
    },
  };
}

function disposeRollout(r: RolloutSequences): void {
  disposeBatch(r);
  r.logprobs?.dispose();
}
