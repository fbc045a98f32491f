// readScoredBatch, the input side of every group algorithm's loss: what it
// checks, and that a row range reads the same numbers as the whole batch.
import { describe, expect, it } from 'vitest';
import { fixedBatch, K, ROWS } from '../../../test-support/groupRollout.js';
import { toyModels } from '../../../test-support/toyPolicy.js';
import { readScoredBatch, type ScoredBatch, tf } from '../src/index.js';

const models = toyModels(1, 2);
const scores = ROWS.map((_, i) => i / 10);

function withBatch(f: (batch: ScoredBatch) => void): void {
  const batch = { ...fixedBatch(), scores, groupSize: K };
  try {
    f(batch);
  } finally {
    tf.dispose([batch.inputIds, batch.attentionMask]);
  }
}

describe('readScoredBatch', () => {
  it('reads old (on-policy) and reference log-probabilities, 0 off the response, the policy on the loss rows', () => {
    withBatch((batch) => {
      const before = tf.memory().numTensors;
      const full = tf.tidy(() => {
        const r = readScoredBatch(models.policy, models.reference, batch, 'test');
        expect(r.logprobs.shape).toEqual([8, 7]);
        expect(r.rows).toEqual([0, 8]);
        // on-policy: the old log-probabilities are the policy's own values
        expect(r.oldLogprobs).toEqual(r.logprobs.arraySync());
        r.mask.forEach((row, b) => {
          row.forEach((m, t) => {
            if (t < 2) expect(m).toBe(0); // the prompt's columns (start = P - 1 = 2)
            if (m === 0) expect([r.oldLogprobs[b]?.[t], r.refLogprobs[b]?.[t]]).toEqual([0, 0]);
          });
        });
        return { old: r.oldLogprobs, ref: r.refLogprobs };
      });
      // rows 3..5 with the batch's numbers given: the same values, the policy run on 2 rows
      tf.tidy(() => {
        const r = readScoredBatch(
          models.policy,
          models.reference,
          { ...batch, oldLogprobs: full.old, refLogprobs: full.ref, rows: [3, 5] },
          'test',
        );
        expect(r.logprobs.shape).toEqual([2, 7]);
        const got = r.logprobs.arraySync();
        got.forEach((row, i) => {
          row.forEach((v, t) => {
            expect(v).toBeCloseTo(full.old[3 + i]?.[t] as number, 6);
          });
        });
        expect(r.refLogprobs).toEqual(full.ref);
      });
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('names what is wrong: groups, scores, row ranges, log-probability shapes', () => {
    withBatch((batch) => {
      const read = (over: Partial<ScoredBatch>) => () =>
        tf.tidy(() => {
          readScoredBatch(models.policy, models.reference, { ...batch, ...over }, 'test');
        });
      expect(read({ groupSize: 3 })).toThrow(/groupSize/);
      expect(read({ scores: scores.slice(1) })).toThrow(/scores/);
      expect(read({ rows: [0, 2] })).toThrow(/oldLogprobs/);
      const old = ROWS.map(() => new Array(7).fill(-1));
      expect(read({ rows: [5, 9], oldLogprobs: old })).toThrow(/rows/);
      expect(read({ rows: [2, 2], oldLogprobs: old })).toThrow(/rows/);
      expect(read({ oldLogprobs: old.slice(1) })).toThrow(/oldLogprobs/);
      expect(read({ refLogprobs: old.map((r) => r.slice(1)) })).toThrow(/refLogprobs/);
    });
  });
});
