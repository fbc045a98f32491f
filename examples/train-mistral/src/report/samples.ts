import { join } from 'node:path';
import { parseWith } from '@remax/core';
import { z } from 'zod';
import type { GenerationShape } from '../registry/generation.js';
import { readJsonLines } from '../run/jsonLines.js';
import type { Sample } from './report.js';

export const SAMPLES_FILE = 'samples.jsonl';

/** One line of samples.jsonl: a row of one reward-model call of one step. */
const sampleLineSchema = z.object({
  step: z.number().int().positive(),
  /** Which reward call of the step (its order in the algorithm). */
  call: z.number().int().nonnegative(),
  row: z.number().int().nonnegative(),
  prompt: z.string().nullable(),
  text: z.string(),
  /** null when the reward was not finite (JSON has no NaN). */
  reward: z.number().nullable(),
});
export type SampleLine = z.output<typeof sampleLineSchema>;

/**
 * The reward call holding the greedy responses of an algorithm that decodes
 * them (its generation shape says so): the sampled batch is scored first
 * (call 0), the greedy batch of the same prompts next (call 1).
 */
const GREEDY_CALL = 1;

/**
 * Reads samples.jsonl, each line validated; a torn last line (a kill during the
 * append) is dropped with a warning, any other bad line is E_FORMAT naming
 * file:line.
 */
export function readSampleLines(runDir: string, onWarning?: (m: string) => void): SampleLine[] {
  const file = join(runDir, SAMPLES_FILE);
  return readJsonLines(file, onWarning).map(({ value, line }) =>
    parseWith(sampleLineSchema, value, {
      file: `${file}:${line}`,
      what: 'sample line',
      code: 'E_FORMAT',
    }),
  );
}

/**
 * The report's sample rows: the last `n` sampled responses (call 0), each with
 * the greedy response and reward for the same step and row when the algorithm
 * has them.
 */
export function reportSamples(
  lines: readonly SampleLine[],
  shape: GenerationShape,
  n = 10,
): Sample[] {
  const greedy = new Map<string, SampleLine>();
  if (shape.greedy) {
    for (const l of lines) if (l.call === GREEDY_CALL) greedy.set(`${l.step}:${l.row}`, l);
  }
  return lines
    .filter((l) => l.call === 0)
    .slice(-n)
    .map((l) => {
      const g = greedy.get(`${l.step}:${l.row}`);
      return {
        step: l.step,
        prompt: l.prompt ?? '',
        response: l.text,
        reward: l.reward,
        ...(g ? { greedy_response: g.text, greedy_reward: g.reward } : {}),
      };
    });
}
