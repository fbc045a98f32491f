import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWith, RemaxError } from '@remax/core';
import { z } from 'zod';
import type { GenerationShape } from '../registry/generation.js';
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
  reward: z.number(),
});
export type SampleLine = z.output<typeof sampleLineSchema>;

/**
 * The reward call holding the greedy responses of an algorithm that decodes
 * them (its generation shape says so): the sampled batch is scored first
 * (call 0), the greedy batch of the same prompts next (call 1).
 */
const GREEDY_CALL = 1;

export function readSampleLines(runDir: string): SampleLine[] {
  const file = join(runDir, SAMPLES_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (line.trim() === '') return [];
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (cause) {
        throw new RemaxError('E_FORMAT', 'samples line is not JSON', {
          file,
          field: `line ${i + 1}`,
          cause,
        });
      }
      return [parseWith(sampleLineSchema, json, { file, what: `line ${i + 1}`, code: 'E_FORMAT' })];
    });
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
